// `tsx scripts/teardown-host.ts <data dir>`: stop what a throw-away Cirrus host
// left running in this kernel — its guests' QEMU processes and its tenant
// networks (bridges, router namespaces, DHCP servers, rules). For test runs
// (the e2e server's data directory); never point it at a data dir you keep.
import fs from 'node:fs';
import path from 'node:path';
import { HostNetwork } from '../server/hypervisor/net/host-network';
import { hostTag } from '../server/hypervisor/net/names';
import { isOurProcessAlive, readPidFile } from '../server/hypervisor/qemu/process';

async function main(dir: string): Promise<void> {
  const guests = path.join(dir, 'guests');
  if (fs.existsSync(guests)) {
    for (const id of fs.readdirSync(guests)) {
      const pidFile = path.join(guests, id, 'qemu.pid');
      const pid = readPidFile(pidFile);
      if (pid !== null && isOurProcessAlive(pid, pidFile)) process.kill(pid, 'SIGKILL');
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
