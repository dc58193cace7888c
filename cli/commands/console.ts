// cirrus instances console <id> [--follow]: the guest's serial output (the
// last 64 KiB the server keeps), as plain text unless --raw; the graphical
// console is in the browser, and this says where.
import type { Command } from 'commander';
import { plainConsoleText } from '../../components/instances/format';
import { resolveInstanceId } from '../api';
import type { App } from '../app';
import { wholeNumber } from '../args';
import { newSerialText } from '../serial-tail';

type ConsoleOptions = { follow?: boolean; raw?: boolean; interval: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function registerConsole(instances: Command, app: App): void {
  instances
    .command('console')
    .description('print the serial console log of an instance (--follow to keep printing what is new)')
    .argument('<id>', 'instance id (or name)')
    .option('-f, --follow', 'keep polling and print new output until the instance is terminated (^C to stop)')
    .option('--raw', 'print terminal control sequences as the guest sent them (by default they are dropped)')
    .option('--interval <seconds>', 'how often --follow asks', wholeNumber('--interval'), 1)
    .action(async (ref: string, o: ConsoleOptions) => {
      const api = app.api();
      const tenant = await app.tenant();
      const instanceId = await resolveInstanceId(api, tenant.id, ref);
      const input = { tenantId: tenant.id, instanceId };
      const page = `${app.credentials().url}/t/${tenant.slug}/instances/${instanceId}`;
      app.note(`Graphical console: ${page}/console (serial console in the browser: ${page}/serial)`);
      const show = (text: string) => text && app.io.stdout.write(o.raw ? text : plainConsoleText(text));
      let seen = (await api.instances.serialLog.query(input)).text;
      show(seen);
      if (!o.follow) return;
      for (;;) {
        await sleep(o.interval * 1000);
        const [log, inst] = await Promise.all([api.instances.serialLog.query(input), api.instances.get.query(input)]);
        // An empty tail is a guest that is not there (stopped, moving): nothing new, not a reset.
        if (log.text) {
          show(newSerialText(seen, log.text));
          seen = log.text;
        }
        if (inst.state === 'terminated' || inst.state === 'terminating') {
          app.note(`${inst.name} (${inst.id}) is ${inst.state}.`);
          return;
        }
      }
    });
}
