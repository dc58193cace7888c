// The data plane of one host: makes the kernel match a HostNetworkSpec.
// `apply` is idempotent and total — it creates what is missing, repairs what
// drifted and removes what no longer belongs (only things carrying this host's
// tag), so the same call serves a launch, a change, a sweep and the recovery
// after a crash or a host restart.
// 1. Probe · 2. Apply · 3. Taps · 4. Orphans · 5. Counters and teardown
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { upstreamServers } from './dnsmasq';
import { runCommand, type Runner } from './exec';
import { readKernelState, tapGuestCounters, type KernelState } from './kernel-state';
import { bridgeName, HOST_TAG_PATTERN, ifbName, NAMESPACE_PATTERN, prefixOf, routerPortName, tapName, tapOfIfb, transitName, vxlanName } from './names';
import { hostRuleset, hostTableName } from './nft';
import { ensureNetwork, removeNetwork, writeSysctl, type RouterContext } from './router';
import { validateHostNetworkSpec, type HostNetworkSpec } from './spec';
import { ingressArgs, redirectArgs, shapeArgs } from './tc';

export interface HostNetworkOptions {
  hostId: string;
  tag: string;
  /** Runtime files (dnsmasq's); default `/run/cirrus/net-<tag>` (gone after a host restart, like the kernel state it describes). */
  runDir?: string;
  run?: Runner;
  log?: (m: string) => void;
}

export interface ApplyReport {
  /** NICs whose tap is not on the host (their guest is not running, or its tap was removed under it). */
  missingTaps: string[];
}

export type NetworkCapability = { mode: 'bridged' } | { mode: 'user'; reason: string };

// 1. Probe --------------------------------------------------------------------

/**
 * Can this host build tenant networks? It needs the tools (ip, nft, tc,
 * dnsmasq), /dev/net/tun, and the right to create bridges and namespaces
 * (root or CAP_NET_ADMIN): try each for real.
 */
export async function probeNetworking(run: Runner = runCommand): Promise<NetworkCapability> {
  const missing: string[] = [];
  for (const [cmd, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
    ['tc', ['-V']],
    ['dnsmasq', ['--version']],
  ] as const) {
    await run(cmd, [...args]).catch(() => missing.push(cmd));
  }
  if (missing.length) {
    return { mode: 'user', reason: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed (Debian: apt-get install iproute2 nftables dnsmasq-base)` };
  }
  if (!existsSync('/dev/net/tun')) return { mode: 'user', reason: 'the host has no /dev/net/tun, so guests cannot have taps' };
  const probe = `cirrusprobe${process.pid % 10_000}`;
  try {
    await run('ip', ['link', 'add', probe, 'type', 'bridge']);
    await run('ip', ['link', 'del', probe]);
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'del', probe]);
  } catch (e) {
    await run('ip', ['link', 'del', probe]).catch(() => undefined);
    const why = e instanceof Error && /Operation not permitted|permission/i.test(e.message) ? 'not root and without CAP_NET_ADMIN' : (e as Error).message;
    return { mode: 'user', reason: `Cirrus cannot create bridges and namespaces here (${why})` };
  }
  return { mode: 'bridged' };
}

// 2. Apply ----------------------------------------------------------------------

export class HostNetwork {
  readonly tag: string;
  readonly runDir: string;
  private readonly run: Runner;
  private readonly log: (m: string) => void;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: HostNetworkOptions) {
    if (!HOST_TAG_PATTERN.test(opts.tag)) throw new Error(`bad host tag ${opts.tag}`);
    this.tag = opts.tag;
    this.runDir = path.resolve(opts.runDir ?? `/run/cirrus/net-${opts.tag}`);
    // dnsmasq drops to an unprivileged user and re-reads its files on SIGHUP: every directory above them must let it through.
    for (let dir = path.dirname(this.runDir); ; dir = path.dirname(dir)) {
      if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) throw new Error(`${this.runDir} is not reachable for dnsmasq: ${dir} is not searchable by other users`);
      if (dir === path.dirname(dir)) break;
    }
    this.run = opts.run ?? runCommand;
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * Claim the host tag on this kernel: two Cirrus hosts (data directories) on
   * one machine must not share one, or they would sweep each other's networks.
   * Returns the other host's id when the tag is taken.
   */
  claimTag(): string | null {
    mkdirSync(this.runDir, { recursive: true, mode: 0o755 });
    const owner = path.join(this.runDir, 'owner.json');
    try {
      const o = JSON.parse(readFileSync(owner, 'utf8')) as { hostId?: string; pid?: number };
      if (o.hostId && o.hostId !== this.opts.hostId && typeof o.pid === 'number' && existsSync(`/proc/${o.pid}`)) return o.hostId;
    } catch {
      // free
    }
    writeFileSync(owner, JSON.stringify({ hostId: this.opts.hostId, pid: process.pid }) + '\n');
    return null;
  }

  /** One apply at a time (a sweep and a job may ask together). */
  apply(spec: HostNetworkSpec): Promise<ApplyReport> {
    const next = this.queue.then(() => this.applyNow(spec));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(raw: HostNetworkSpec): Promise<ApplyReport> {
    const spec = validateHostNetworkSpec(raw);
    if (spec.tag !== this.tag) throw new Error(`spec for host tag ${spec.tag} given to ${this.tag}`);
    mkdirSync(this.runDir, { recursive: true, mode: 0o755 });
    writeSysctl('net.ipv4.ip_forward', '1');
    const state = await readKernelState(this.run);
    const ctx: RouterContext = {
      run: this.run,
      tag: this.tag,
      runDir: this.runDir,
      upstreamDns: upstreamServers(existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : ''),
      log: this.log,
    };
    const errors: string[] = [];
    // What no longer belongs goes first: a network new here may take a transit slot just given back.
    await this.removeOrphans(spec, state, ctx, errors);
    for (const n of spec.networks) {
      try {
        await ensureNetwork(ctx, n, state);
      } catch (e) {
        errors.push(`network ${n.id}: ${(e as Error).message}`);
      }
    }
    const missingTaps = await this.plumbTaps(spec, state, errors);
    try {
      await this.run('nft', ['-f', '-'], { input: hostRuleset(spec) });
    } catch (e) {
      errors.push(`host rules: ${(e as Error).message}`);
    }
    if (errors.length) throw new Error(`host network not fully applied: ${errors.join('; ')}`);
    return { missingTaps };
  }

  // 3. Taps ---------------------------------------------------------------------

  /** QEMU creates each tap; here it joins its bridge and gets its rate both ways. */
  private async plumbTaps(spec: HostNetworkSpec, state: KernelState, errors: string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const n of spec.networks) {
      const bridge = bridgeName(this.tag, n.id);
      for (const nic of n.nics) {
        const tap = tapName(this.tag, nic.id);
        const link = state.links.get(tap);
        if (!link) {
          missing.push(nic.id);
          continue;
        }
        try {
          if (link.master !== bridge || !link.up) {
            writeSysctl(`net.ipv6.conf.${tap}.disable_ipv6`, '1');
            await this.run('ip', ['link', 'set', tap, 'master', bridge, 'up']);
          }
          const ifb = ifbName(this.tag, nic.id);
          if (!state.links.has(ifb)) {
            await this.run('ip', ['link', 'add', ifb, 'type', 'ifb']);
            state.links.set(ifb, { name: ifb, kind: 'ifb', master: null, up: false });
          }
          if (!state.links.get(ifb)?.up) await this.run('ip', ['link', 'set', ifb, 'up']);
          const bps = nic.rateMbit * 1_000_000;
          const q = state.qdiscs.get(tap);
          if (q?.rootRateBps !== bps) await this.run('tc', shapeArgs(tap, nic.rateMbit));
          if (state.qdiscs.get(ifb)?.rootRateBps !== bps) await this.run('tc', shapeArgs(ifb, nic.rateMbit));
          if (!q?.hasIngress) {
            await this.run('tc', ingressArgs(tap));
            await this.run('tc', redirectArgs(tap, ifb));
          }
        } catch (e) {
          errors.push(`tap ${tap}: ${(e as Error).message}`);
        }
      }
    }
    return missing;
  }

  // 4. Orphans ------------------------------------------------------------------

  /** Everything with this host's tag that the spec no longer names goes (taps belong to QEMU and are left to it). */
  private async removeOrphans(spec: HostNetworkSpec, state: KernelState, ctx: RouterContext, errors: string[]): Promise<void> {
    const networks = new Set(spec.networks.map((n) => n.id));
    const nics = new Set(spec.networks.flatMap((n) => n.nics.map((nic) => tapName(this.tag, nic.id))));
    const orphanNetworks = new Set<string>();
    for (const ns of state.namespaces) {
      const m = NAMESPACE_PATTERN.exec(ns);
      if (m && m[1] === this.tag && !networks.has(m[2]!)) orphanNetworks.add(m[2]!);
    }
    if (existsSync(this.runDir)) {
      for (const d of readdirSync(this.runDir)) if (/^[0-9a-f-]{36}$/.test(d) && !networks.has(d)) orphanNetworks.add(d);
    }
    for (const id of orphanNetworks) {
      try {
        await removeNetwork(ctx, id, state);
        this.log(`[network] removed network ${id} from this host`);
      } catch (e) {
        errors.push(`removing network ${id}: ${(e as Error).message}`);
      }
    }
    // Links of ours that belong to nothing the spec names (a network removed
    // while its namespace was already gone, an IFB whose guest stopped).
    const wanted = new Set<string>();
    for (const id of networks) for (const l of [bridgeName(this.tag, id), routerPortName(this.tag, id), transitName(this.tag, id), vxlanName(this.tag, id)]) wanted.add(l);
    for (const link of state.links.values()) {
      const ours = (['b', 'g', 'r', 'i', 'x'] as const).some((k) => link.name.startsWith(prefixOf(k, this.tag)));
      if (!ours || wanted.has(link.name)) continue;
      if (link.name.startsWith(prefixOf('i', this.tag)) && nics.has(tapOfIfb(link.name)) && state.links.has(tapOfIfb(link.name))) continue;
      await this.run('ip', ['link', 'del', link.name]).catch(() => undefined);
    }
  }

  // 5. Counters and teardown ----------------------------------------------------

  /** Bytes through a NIC's tap, from the guest's point of view (a tap's rx is what the guest sent). */
  counters(nicId: string): { rxBytes: number; txBytes: number } | null {
    return tapGuestCounters(tapName(this.tag, nicId));
  }

  /** Remove every network of this host (tests; a host being retired). */
  async teardown(): Promise<void> {
    await this.apply({ tag: this.tag, networks: [] });
    // Taps are made for guests' users and outlive their QEMU until the driver removes them: a retired host's go here.
    for (const link of (await readKernelState(this.run)).links.values()) {
      if (link.name.startsWith(prefixOf('t', this.tag))) await this.run('ip', ['link', 'del', link.name]).catch(() => undefined);
    }
    await this.run('nft', ['delete', 'table', 'ip', hostTableName(this.tag)]).catch(() => undefined);
    await this.run('nft', ['delete', 'table', 'bridge', hostTableName(this.tag)]).catch(() => undefined);
    rmSync(this.runDir, { recursive: true, force: true });
  }
}
