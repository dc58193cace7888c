import { handleEc2 } from '@/server/ec2/handler';

export const dynamic = 'force-dynamic';

/** The EC2 Query API (server/ec2): `aws ec2 … --endpoint-url <origin>/api/ec2 --region cirrus-1`; it times itself for /metrics. */
const handler = (req: Request) => handleEc2(req);

export { handler as GET, handler as POST };
