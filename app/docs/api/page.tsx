import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { ApiReference } from '@/components/docs/api-reference';
import { openApiDocument } from '@/server/openapi/document';
import { publicOrigin } from '@/server/openapi/origin';

export const metadata: Metadata = { title: 'API reference' };
export const dynamic = 'force-dynamic';

export default async function ApiDocsPage() {
  const h = await headers();
  return <ApiReference doc={openApiDocument(publicOrigin(new Request('http://localhost/docs/api', { headers: h })))} />;
}
