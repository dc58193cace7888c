// A NIC's rate, enforced on the host with tc (pure argv builders and a parser).
// Towards the guest: a token bucket (tbf) on the tap's egress. From the guest:
// the tap's ingress is redirected (mirred) to the NIC's own IFB device and
// shaped there with the same bucket — shaping rather than policing, since
// policing drops bursts and TCP then settles well below the rate (and this
// kernel has no act_police at all).

/** Bytes a bucket holds: 20 ms at the rate, at least 16 KiB (a few full frames). */
export function burstBytes(rateMbit: number): number {
  return Math.max(16 * 1024, Math.ceil((rateMbit * 1_000_000) / 8 / 50));
}

export function shapeArgs(dev: string, rateMbit: number): string[] {
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burstBytes(rateMbit)), 'latency', '50ms'];
}

export function ingressArgs(tap: string): string[] {
  return ['qdisc', 'replace', 'dev', tap, 'handle', 'ffff:', 'ingress'];
}

export function redirectArgs(tap: string, ifb: string): string[] {
  return [
    'filter', 'replace', 'dev', tap, 'parent', 'ffff:', 'protocol', 'all', 'prio', '1', 'handle', '800::800',
    'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', ifb,
  ];
}

export interface QdiscState {
  /** tbf rate at the root, in bits per second (null: no tbf root). */
  rootRateBps: number | null;
  hasIngress: boolean;
}

/** `tc -j qdisc show` → per device: its root tbf rate and whether it has an ingress qdisc. */
export function parseQdiscs(json: string): Map<string, QdiscState> {
  const out = new Map<string, QdiscState>();
  let rows: unknown;
  try {
    rows = JSON.parse(json);
  } catch {
    return out;
  }
  if (!Array.isArray(rows)) return out;
  for (const r of rows as { kind?: string; dev?: string; root?: boolean; handle?: string; options?: { rate?: number } }[]) {
    if (typeof r?.dev !== 'string') continue; // a row that is not an object (null) is skipped like one without a device
    const s = out.get(r.dev) ?? { rootRateBps: null, hasIngress: false };
    if (r.kind === 'tbf' && r.root) s.rootRateBps = typeof r.options?.rate === 'number' ? r.options.rate * 8 : null;
    if (r.kind === 'ingress') s.hasIngress = true;
    out.set(r.dev, s);
  }
  return out;
}
