// cirrus instances ssh <id> [-- ssh args…]: the guest's SSH through its port
// forward to port 22, as the image's login user. ssh is spawned with an argv
// array (never a shell), on this terminal, and its exit code is ours.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { privateKeyFileName } from '../../components/key-pairs/key-pair-rules';
import { resolveInstanceId } from '../api';
import type { App } from '../app';
import { CliError, EXIT } from '../exit-codes';
import { choosesIdentity, shellLine, sshArgv, sshForwardOf, sshHost } from '../ssh';

type SshOptions = { user?: string; forward?: boolean; print?: boolean };

/** The private key Cirrus told the user to keep (`~/.ssh/<key pair>.pem`), when it is there. */
function savedKeyFile(keyName: string | null, home: string): string | null {
  if (!keyName) return null;
  const file = path.join(home, '.ssh', privateKeyFileName(keyName));
  return fs.existsSync(file) ? file : null;
}

function runSsh(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', argv, { stdio: 'inherit' });
    // The terminal sends ^C to ssh too; this process only waits for it.
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    child.on('error', (err: NodeJS.ErrnoException) => {
      process.off('SIGINT', ignore);
      reject(new CliError(err.code === 'ENOENT' ? 'ssh is not installed (no ssh on PATH): install OpenSSH’s client.' : `Cannot run ssh: ${err.message}.`, EXIT.unexpected));
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
    });
  });
}

export function registerSsh(instances: Command, app: App): void {
  instances
    .command('ssh')
    .description('SSH into an instance through its port forward to port 22 (arguments after -- go to ssh)')
    .argument('<id>', 'instance id (or name)')
    .argument('[ssh-args...]', 'more ssh arguments: options (-L …) and/or a remote command')
    .option('-l, --user <name>', 'log in as this user (default: the image’s login user)')
    .option('--forward', 'if no host port reaches port 22, make a port forward (counted in the quota and billed while it exists)')
    .option('--print', 'print the ssh command instead of running it (with -o json: {"argv": [...]})')
    .addHelpText('after', '\nThe key: -i ~/.ssh/<key pair>.pem when that file exists (where Cirrus says to keep a generated key), else ssh’s own choice.\nHost keys are filed under the instance id (HostKeyAlias), not the host port.')
    .action(async (ref: string, extra: string[], o: SshOptions) => {
      const api = app.api();
      const tenantId = (await app.tenant()).id;
      const instanceId = await resolveInstanceId(api, tenantId, ref);
      const inst = await api.instances.get.query({ tenantId, instanceId });
      const label = `${inst.name} (${inst.id})`;
      if (inst.state !== 'running') {
        throw new CliError(`${label} is ${inst.state}; SSH needs it running${inst.state === 'stopped' ? ` (cirrus instances start ${inst.id} --wait)` : ''}.`, EXIT.conflict);
      }
      const image = (await api.images.list.query({ tenantId })).find((i) => i.id === inst.imageId);
      const user = o.user ?? image?.loginUser ?? null;
      if (!user) {
        throw new CliError(
          `${image ? image.name : `Image ${inst.imageId}`} has no SSH login user: use \`cirrus instances console ${inst.id}\`, or give --user if you added one.`,
          EXIT.conflict,
        );
      }
      let forward = sshForwardOf(await api.portForwards.list.query({ tenantId, instanceId }));
      let justMade = false;
      if (!forward && o.forward) {
        forward = await api.portForwards.create.mutate({ tenantId, instanceId, guestPort: 22 });
        justMade = true;
        app.note(`Forwarded host port ${forward.hostPort} to port 22 of ${label}; it stays (and is billed) until you delete it or the instance.`);
      }
      if (!forward) {
        throw new CliError(
          `No host port reaches port 22 of ${label}. Add a port forward to port 22: run this again with --forward, or use “Forward a host port to SSH” on the instance’s page.`,
          EXIT.conflict,
        );
      }
      const identity = choosesIdentity(extra) ? null : savedKeyFile(inst.keyName, app.io.env.HOME || os.homedir());
      const argv = sshArgv({ instanceId, user, host: sshHost(forward.host, app.credentials().url), port: forward.hostPort, identity, retry: justMade, extra });
      if (o.print) return app.print({ argv: ['ssh', ...argv] }, () => `${shellLine(['ssh', ...argv])}\n`);
      if (!inst.keyName && !choosesIdentity(extra)) app.note(`${label} was launched without a key pair: ${user} may have no key to log in with.`);
      app.exitCode = await runSsh(argv);
    });
}
