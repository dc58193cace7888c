// Tenant networks on this host, with the real data plane (bridges, routers,
// dnsmasq, nftables, tc) and real Tiny Linux guests: how long from starting a
// guest until DHCP gave it its address, what two guests of one network move
// between them, and what a NIC shaped to a rate moves against its cap. Needs
// root (CAP_NET_ADMIN), like the data plane itself.
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostNetwork, probeNetworking } from '../server/hypervisor/net/host-network';
import { tapName } from '../server/hypervisor/net/names';
import type { HostNetworkSpec, NicPlumbing } from '../server/hypervisor/net/spec';
import { QemuDriver } from '../server/hypervisor/qemu/driver';
import { guestLayout } from '../server/hypervisor/qemu/layout';
import { parseHardwareReport, SerialSession, testImagesDir } from '../server/hypervisor/qemu/test-support';
import { macAddress } from '../server/hypervisor/spec';
import type { BenchModule } from './types';

const WINDOW_MS = 5_000;
const TAG = '3fe'; // a tag of its own, so the bench never meets a running Cirrus host's networks

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes a tap has carried from its guest (the host's rx) so far. */
const sentByGuest = (tap: string) => Number(readFileSync(`/sys/class/net/${tap}/statistics/rx_bytes`, 'utf8'));

/** Mbit/s a guest's tap carries from it over the window. */
async function guestSendRate(tap: string): Promise<number> {
  const a = sentByGuest(tap);
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  return ((sentByGuest(tap) - a) * 8) / ((performance.now() - t0) / 1000) / 1e6;
}

const network: BenchModule = {
  name: 'network',
  description: 'tenant networks: start → DHCP lease, guest-to-guest throughput on one network, shaped throughput against the cap (real guests, TCG)',
  async run() {
    const cap = await probeNetworking();
    if (cap.mode !== 'bridged') throw new Error(`this host cannot build tenant networks: ${cap.reason}`);
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-net-'));
    const driver = await QemuDriver.open({ guestsDir: path.join(scratch, 'guests'), imagesDir: testImagesDir() });
    const hn = new HostNetwork({ hostId: `bench-${process.pid}`, tag: TAG });
    const ids = ['bench-net-1', 'bench-net-2'];
    const nics: NicPlumbing[] = ids.map((id, i) => ({
      id: crypto.randomUUID(),
      mac: macAddress(id, 0),
      ip: `10.77.0.${i + 2}`,
      hostname: id,
      aliases: [],
      rateMbit: 10_000,
    }));
    const netId = crypto.randomUUID();
    const spec = (): HostNetworkSpec => ({
      tag: TAG,
      networks: [{ id: netId, cidr: '10.77.0.0/24', gateway: '10.77.0.1', slot: 0, nics, forwards: [] }],
    });
    const shells: SerialSession[] = [];
    try {
      let t0 = performance.now();
      await hn.apply(spec());
      const firstApply = performance.now() - t0;
      t0 = performance.now();
      await hn.apply(spec());
      const steadyApply = performance.now() - t0;

      // 1. Start → lease: both guests at once, the taps plumbed right after QEMU made them.
      const leases: number[] = [];
      await Promise.all(
        ids.map(async (id, i) => {
          const started = performance.now();
          await driver.create({ id, vcpus: 1, memoryMiB: 128, diskGiB: 1, image: 'cirrus-tiny-linux', nics: [{ mac: nics[i]!.mac, tap: tapName(TAG, nics[i]!.id) }] });
          await driver.start(id);
          await hn.apply(spec());
          const log = guestLayout(driver.guestsDir, id).serialLog;
          for (;;) {
            const hw = parseHardwareReport(readFileSync(log, 'latin1'));
            if (hw) {
              if (hw.ips[0] !== nics[i]!.ip) throw new Error(`${id} got ${hw.ips[0]} by DHCP, not ${nics[i]!.ip}`);
              leases.push(performance.now() - started);
              break;
            }
            if (performance.now() - started > 90_000) throw new Error(`${id} reported no address`);
            await sleep(20);
          }
        }),
      );
      for (const id of ids) {
        const s = await SerialSession.open((await driver.console(id)).serialSocket);
        // The shell comes after the report (first-boot formatting in between): wait until it answers.
        for (let i = 0; ; i++) {
          s.send(`stty cols 1000; echo "shell-$((${i} + 1))"`);
          try {
            await s.waitFor(new RegExp(`shell-${i + 1}\\r?\\n`), 2_000);
            break;
          } catch (e) {
            if (i > 30) throw e;
          }
        }
        shells.push(s);
      }
      const [one, two] = shells as [SerialSession, SerialSession];
      const tap2 = tapName(TAG, nics[1]!.id);

      // 2. Guest to guest, unshaped: guest 2 streams zeros to guest 1.
      one.send('(while true; do nc -l -p 5001 > /dev/null; done) &');
      await sleep(500);
      two.send(`nc ${nics[0]!.ip} 5001 < /dev/zero &`);
      await sleep(1_000);
      const unshaped = await guestSendRate(tap2);

      // 3. Shaped: the same stream with guest 2's NIC at 20, then 50 Mbit/s (changed live).
      const shaped: [number, number][] = [];
      for (const rate of [20, 50]) {
        nics[1]!.rateMbit = rate;
        await hn.apply(spec());
        await sleep(1_000);
        shaped.push([rate, await guestSendRate(tap2)]);
      }
      return [
        { label: 'guests', value: '2 × Cirrus Tiny Linux (1 vCPU, 128 MiB) on one network, TCG' },
        { label: 'host network apply, first', value: firstApply, unit: 'ms (router namespace, bridge, dnsmasq, rules)' },
        { label: 'host network apply, unchanged', value: steadyApply, unit: 'ms (a sweep)' },
        { label: 'start → DHCP lease in the report', value: Math.max(...leases), unit: 'ms (slower of two started together)' },
        { label: 'guest → guest, unshaped', value: unshaped, unit: 'Mbit/s' },
        ...shaped.flatMap(([rate, got]) => [{ label: `shaped to ${rate} Mbit/s`, value: got, unit: `Mbit/s (${((got / rate - 1) * 100).toFixed(1)} % off the cap)` }]),
      ];
    } finally {
      for (const s of shells) s.close();
      for (const id of ids) await driver.destroy(id).catch(() => undefined);
      await driver.close();
      await hn.teardown().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};

export default network;
