import { handleEc2 } from '@/server/ec2/handler';
import { timedEc2Request } from '@/server/metrics/ec2';

export const dynamic = 'force-dynamic';

/** The EC2 Query API (server/ec2): `aws ec2 … --endpoint-url <origin>/api/ec2 --region cirrus-1`; timed for /metrics. */
const handler = (req: Request) => timedEc2Request(req, (r) => handleEc2(r));

export { handler as GET, handler as POST };
