// Signs EC2 Query API requests the way an AWS SDK does (AWS's own signer), for tests.
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';

export type Key = { accessKeyId: string; secret: string };

export async function signedEc2Request(
  origin: string,
  key: Key,
  params: Record<string, string>,
  opts: { at?: Date; region?: string; secret?: string; body?: string } = {},
): Promise<Request> {
  const url = new URL('/api/ec2', origin);
  const body = new URLSearchParams({ Version: '2016-11-15', ...params }).toString();
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: opts.secret ?? key.secret },
    region: opts.region ?? 'cirrus-1',
    service: 'ec2',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    }),
    { signingDate: opts.at ?? new Date() },
  );
  return new Request(url, { method: 'POST', headers: signed.headers as Record<string, string>, body: opts.body ?? body });
}

const parser = new XMLParser({ isArray: (name) => name === 'item' });

/** The response's XML as an object (lists as `{ item: [...] }`), with its status. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- EC2's XML read back as loose objects
export async function readEc2(res: Response): Promise<{ status: number; body: Record<string, any> }> {
  return { status: res.status, body: parser.parse(await res.text()) };
}
