import { handleMetrics } from '@/server/metrics/handler';

export const dynamic = 'force-dynamic';

/** Prometheus metrics (server/metrics): the scrape token or an administrator's API token as a bearer token. */
export const GET = (req: Request) => handleMetrics(req);
