// What this server is in the cluster (CIRRUS_ROLE):
//   both     — one machine: web, API and consoles, and this host's guests (the default);
//   control  — web, API, console entry and the cluster's chores; no guests;
//   compute  — a node: registers its host, runs its jobs, owns its guests and
//              serves their consoles to control planes over the node channel.
export type ServerRole = 'both' | 'control' | 'compute';

export function serverRole(env: string | undefined = process.env.CIRRUS_ROLE): ServerRole {
  const raw = (env ?? '').trim();
  if (raw === '') return 'both';
  if (raw === 'both' || raw === 'control' || raw === 'compute') return raw;
  throw new Error(`CIRRUS_ROLE must be both, control or compute, not ${JSON.stringify(raw)}`);
}

export const servesWeb = (role: ServerRole) => role !== 'compute';
export const runsGuests = (role: ServerRole) => role !== 'control';
