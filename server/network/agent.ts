// The host's network reconciler: what should exist is derived from the
// database (host-spec.ts) and the data plane makes it so (HostNetwork.apply),
// on every job that changes it, around every guest start, and on a sweep every
// few seconds — so bridges, routers, rules, DHCP and taps removed behind our
// back, or lost with a host restart, come back on their own.
import type { Db } from '../db/client';
import type { HypervisorDriver } from '../hypervisor';
import type { HostNetwork } from '../hypervisor/net/host-network';
import { hostNetworkSpec } from './host-spec';

export type NetworkAgentOptions = {
  db: Db;
  hostId: string;
  driver: HypervisorDriver;
  /** Null on a host that cannot build tenant networks (its NICs are user-mode). */
  hostNetwork: HostNetwork | null;
  sweepEveryMs?: number;
  log?: (m: string) => void;
};

export class NetworkAgent {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private lastError: string | null = null;

  constructor(private readonly opts: NetworkAgentOptions) {}

  /** The host tag when this host builds tenant networks, else null. */
  get tag(): string | null {
    return this.opts.hostNetwork?.tag ?? null;
  }

  start(): void {
    if (!this.opts.hostNetwork) return;
    const tick = () => {
      void this.sync()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer !== null) this.timer = setTimeout(tick, this.opts.sweepEveryMs ?? 5_000);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /**
   * Make the host match the database. Concurrent callers share the sync in
   * flight and one more after it (a change that landed during a sync is never
   * missed). Throws when a part could not be applied (the next sweep retries).
   */
  sync(): Promise<void> {
    if (!this.opts.hostNetwork) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.syncOnce();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    const hn = this.opts.hostNetwork!;
    const log = this.opts.log ?? console.log;
    try {
      const { spec, instances } = await hostNetworkSpec(this.opts.db, this.opts.hostId, hn.tag);
      const report = await hn.apply(spec);
      // A running guest whose tap is gone (removed by hand, or a network reset) gets it back on its own QEMU.
      const missing = new Set(report.missingTaps);
      let restored = 0;
      for (const [instanceId, i] of instances) {
        if (i.state !== 'running' || !i.nicIds.some((id) => missing.has(id)) || !this.opts.driver.restoreTaps) continue;
        try {
          const taps = await this.opts.driver.restoreTaps(instanceId);
          if (taps.length) log(`[network] restored ${taps.length} tap(s) of ${instanceId}`);
          restored += taps.length;
        } catch (e) {
          log(`[network] could not restore the taps of ${instanceId}: ${(e as Error).message}`);
        }
      }
      if (restored) await hn.apply(spec);
      if (this.lastError) log('[network] host network applied again');
      this.lastError = null;
    } catch (e) {
      const message = (e as Error).message;
      if (message !== this.lastError) log(`[network] ${message}`);
      this.lastError = message;
      throw e;
    }
  }

  /** A NIC's byte counters from the host's side (null when its tap is not here). */
  counters(nicId: string): { rxBytes: number; txBytes: number } | null {
    return this.opts.hostNetwork?.counters(nicId) ?? null;
  }
}
