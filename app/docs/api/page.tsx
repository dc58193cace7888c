import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { ApiReference } from '@/components/docs/api-reference';
import { openApiDocument } from '@/server/openapi/document';

export const metadata: Metadata = { title: 'API reference' };
export const dynamic = 'force-dynamic';

export default async function ApiDocsPage() {
  const h = await headers();
  const configured = process.env.CIRRUS_PUBLIC_URL;
  const origin = configured ? new URL(configured).origin : `${h.get('x-forwarded-proto') ?? 'http'}://${h.get('host') ?? 'localhost'}`;
  return <ApiReference doc={openApiDocument(origin)} />;
}
