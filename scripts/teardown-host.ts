// `tsx scripts/teardown-host.ts <data dir>`: stop what a throw-away Cirrus host
// left running in this kernel — its guests' QEMU processes (with their cgroups
// and taps) and its tenant
// networks (bridges, router namespaces, DHCP servers, rules). For test runs
// (the e2e server's data directory); never point it at a data dir you keep.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HostNetwork } from '../server/hypervisor/net/host-network';
import { hostTag } from '../server/hypervisor/net/names';
import { GuestCgroups } from '../server/hypervisor/isolation/cgroups';
import { guestLayout } from '../server/hypervisor/qemu/layout';
import { isOurProcessAlive, readPidFile } from '../server/hypervisor/qemu/process';
import { GUEST_ID_PATTERN, TAP_PATTERN } from '../server/hypervisor/spec';

async function main(dir: string): Promise<void> {
  const guests = path.join(dir, 'guests');
  if (fs.existsSync(guests)) {
    const { cgroups } = GuestCgroups.open();
    for (const id of fs.readdirSync(guests).filter((n) => GUEST_ID_PATTERN.test(n))) {
      const layout = guestLayout(guests, id);
      const pid = readPidFile(layout.pidFile);
      if (pid !== null && isOurProcessAlive(pid, layout.pidFile)) {
        process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 100 && isOurProcessAlive(pid, layout.pidFile); i++) await new Promise((r) => setTimeout(r, 50));
      }
      // What the driver would have removed once QEMU ended: its cgroup, and the taps made for its user.
      if (cgroups) await cgroups.remove(cgroups.groupOf(id), 2_000);
      try {
        const record = JSON.parse(fs.readFileSync(layout.specFile, 'utf8')) as { spec?: { nics?: { tap: string | null }[] } };
        for (const tap of record.spec?.nics?.flatMap((n) => (n.tap && TAP_PATTERN.test(n.tap) ? [n.tap] : [])) ?? []) {
          if (fs.existsSync(`/sys/class/net/${tap}`)) spawnSync('ip', ['link', 'del', 'dev', tap]);
        }
      } catch {
        // No record: nothing of it to remove.
      }
    }
  }
  try {
    const hostId = fs.readFileSync(path.join(dir, 'secrets', 'host-id'), 'utf8').trim();
    await new HostNetwork({ hostId, tag: hostTag(hostId) }).teardown();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: tsx scripts/teardown-host.ts <data dir>');
  process.exit(2);
}
main(path.resolve(dir)).catch((e: unknown) => {
  console.error(`[teardown] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
