import type { Actor } from '../audit';
import type { Db } from '../db/client';
import type { Role } from '../tenants/roles';
import type { Params } from './params';
import type { XmlObject } from './xml';

/** One authenticated EC2 request: who, in which tenant, with what parameters. */
export type Call = {
  db: Db;
  actor: Actor & { kind: 'user' };
  tenant: { id: string; slug: string; name: string };
  role: Role;
  params: Params;
  requestId: string;
  region: string;
};

/** An action: the least role it needs, and what it answers (the body of `<ActionResponse>`). */
export type Action = { minRole: Role; run: (call: Call) => Promise<XmlObject> };

export const REGION = () => process.env.CIRRUS_REGION ?? 'cirrus-1';
export const ZONE = (region: string) => `${region}a`;
