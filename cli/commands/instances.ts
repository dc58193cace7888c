// cirrus instances ls | get | launch | start | stop | terminate
// (ssh and console are in ./ssh.ts and ./console.ts).
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import type { InstanceState } from '../../server/instances/can';
import { allPages, resolveInstanceId, type Api, type Instance } from '../api';
import type { App } from '../app';
import { parseStates, parseTag, wholeNumber, type Tags } from '../args';
import { CliError, EXIT, usageError } from '../exit-codes';
import { formatFields, formatTable, formatTime, stateColor, type Column } from '../output';
import { Progress, waitForState, type Target } from '../wait';

const columns: Column<Instance>[] = [
  { header: 'ID', value: (i) => i.id },
  { header: 'NAME', value: (i) => i.name },
  { header: 'STATE', value: (i) => i.state, color: (i) => stateColor(i.state) },
  { header: 'IMAGE', value: (i) => i.imageId },
  { header: 'VCPUS', value: (i) => i.vcpus, align: 'right' },
  { header: 'MEMORY', value: (i) => `${i.memoryMiB} MiB`, align: 'right' },
  { header: 'DISK', value: (i) => `${i.diskGiB} GiB`, align: 'right' },
  { header: 'CREATED', value: (i) => formatTime(i.createdAt) },
];

export const instanceTable = (rows: readonly Instance[], color = false) => formatTable(rows, columns, { color });

export function instanceFields(i: Instance): string {
  const tags = Object.entries(i.tags ?? {}).map(([k, v]) => `${k}=${v}`);
  return formatFields([
    ['ID', i.id],
    ['Name', i.name],
    ['State', i.stateReason ? `${i.state} (${i.stateReason})` : i.state],
    ['Image', i.imageId],
    ['vCPUs', i.maxVcpus ? `${i.vcpus} (up to ${i.maxVcpus})` : i.vcpus],
    ['Memory', i.maxMemoryMiB ? `${i.memoryMiB} MiB (up to ${i.maxMemoryMiB} MiB)` : `${i.memoryMiB} MiB`],
    ['Disk', `${i.diskGiB} GiB`],
    ['NICs', i.nics],
    ['Key pair', i.keyName],
    ['Tags', tags.join(', ')],
    ['Host', i.hostName],
    ['Created', formatTime(i.createdAt)],
    ['Launched', formatTime(i.launchedAt)],
    ...(i.terminatedAt ? ([['Terminated', formatTime(i.terminatedAt)]] as const) : []),
  ]);
}

const waitOption = () => new Option('--wait', 'wait until the instance gets there, with progress on stderr');
const timeoutOption = () => new Option('--timeout <seconds>', 'how long --wait waits').argParser(wholeNumber('--timeout')).default(300);

/** Print one instance (launch, get). */
const printOne = (app: App, inst: Instance) => app.print(inst, () => instanceFields(inst));

/** Poll until each instance reaches `target`; failures are reported, the ones that got there returned. */
async function waitAll(app: App, api: Api, tenantId: string, started: Instance[], target: Target, timeoutS: number): Promise<Instance[]> {
  const results = await waitForState(started, {
    target,
    timeoutMs: timeoutS * 1000,
    get: (instanceId) => api.instances.get.query({ tenantId, instanceId }),
    progress: new Progress(app.io.stderr),
  });
  for (const r of results) if (r.failure) app.fail(r.failure);
  return results.filter((r) => !r.failure).map((r) => r.instance!);
}

type LaunchOptions = {
  name: string;
  image: string;
  flavor?: string;
  vcpus?: number;
  memory?: number;
  disk?: number;
  nics?: number;
  key?: string;
  userDataFile?: string;
  tag?: Tags;
  spreadGroup?: string;
  autoRecover?: boolean;
  wait?: boolean;
  timeout: number;
};

function readUserData(file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw usageError(`Cannot read user data from ${file}: ${why}.`);
  }
}

/** By id, else by a name (any case) only one of them has. */
function findByIdOrName<T extends { id: string; name: string }>(items: readonly T[], ref: string): T | undefined {
  const named = items.filter((i) => i.name.toLowerCase() === ref.toLowerCase());
  return items.find((i) => i.id === ref) ?? (named.length === 1 ? named[0] : undefined);
}

/** The launch input from the flags: the image, flavor and key pair named are looked up by name. */
async function launchInput(api: Api, tenantId: string, o: LaunchOptions) {
  const explicit = [o.vcpus, o.memory, o.disk].filter((v) => v !== undefined).length;
  if (o.flavor && explicit) throw usageError('Give either --flavor or --vcpus, --memory and --disk, not both.');
  const [images, flavors] = await Promise.all([api.images.list.query({ tenantId }), api.flavors.list.query({ tenantId })]);
  const image = findByIdOrName(images, o.image);
  if (!image) throw new CliError(`No image “${o.image}” can be launched; choose one of ${images.map((i) => i.id).join(', ') || 'none (ask an administrator)'}.`, EXIT.notFound);
  let size: { vcpus: number; memoryMiB: number; diskGiB: number; nics: number };
  let rateMbit: number | null = null;
  if (o.flavor) {
    const f = flavors.find((x) => x.name.toLowerCase() === o.flavor!.toLowerCase());
    if (!f) throw new CliError(`No flavor “${o.flavor}”; choose one of ${flavors.map((x) => x.name).join(', ')}.`, EXIT.notFound);
    size = { vcpus: f.vcpus, memoryMiB: f.memoryMiB, diskGiB: f.diskGiB, nics: o.nics ?? f.nics };
    rateMbit = f.bandwidthMbit;
  } else if (explicit === 3) {
    size = { vcpus: o.vcpus!, memoryMiB: o.memory!, diskGiB: o.disk!, nics: o.nics ?? 1 };
  } else {
    throw usageError(`Give a size: --flavor <name> (${flavors.map((x) => x.name).join(', ')}) or all of --vcpus, --memory and --disk.`);
  }
  let keyPairId: string | undefined;
  if (o.key) {
    const keys = await allPages((cursor) => api.keyPairs.list.query({ tenantId, cursor, limit: 100 }));
    const key = keys.find((k) => k.name === o.key);
    if (!key) throw new CliError(`No key pair is named “${o.key}”${keys.length ? `; yours: ${keys.map((k) => k.name).join(', ')}` : ''}.`, EXIT.notFound);
    keyPairId = key.id;
  }
  return {
    tenantId,
    name: o.name,
    imageId: image.id,
    ...size,
    // As the launch form does: a flavor's NIC rate applies to each NIC on the default network.
    ...(rateMbit ? { interfaces: Array.from({ length: size.nics }, () => ({ rateMbit: rateMbit! })) } : {}),
    ...(o.tag ? { tags: o.tag } : {}),
    ...(keyPairId ? { keyPairId } : {}),
    ...(o.userDataFile ? { userData: readUserData(o.userDataFile) } : {}),
    ...(o.spreadGroup ? { spreadGroup: o.spreadGroup } : {}),
    ...(o.autoRecover ? { autoRecover: true } : {}),
  };
}

type Lifecycle = 'start' | 'stop' | 'terminate';
const targetOf: Record<Lifecycle, Target> = { start: 'running', stop: 'stopped', terminate: 'terminated' };

/** start / stop / terminate each id in turn; one refusal does not stop the others. */
async function lifecycle(app: App, action: Lifecycle, refs: string[], o: { wait?: boolean; timeout: number; force?: boolean }) {
  const api = app.api();
  const tenantId = (await app.tenant()).id;
  const accepted: Instance[] = [];
  for (const ref of refs) {
    try {
      const instanceId = await resolveInstanceId(api, tenantId, ref);
      const input = { tenantId, instanceId };
      accepted.push(
        action === 'stop'
          ? await api.instances.stop.mutate({ ...input, force: Boolean(o.force) })
          : action === 'start'
            ? await api.instances.start.mutate(input)
            : await api.instances.terminate.mutate(input),
      );
    } catch (err) {
      app.fail(err);
    }
  }
  const done = o.wait && accepted.length ? await waitAll(app, api, tenantId, accepted, targetOf[action], o.timeout) : accepted;
  // JSON is always an array (scripts parse it); a table with no rows after refusals would only be noise.
  if (done.length || app.format === 'json' || app.exitCode === 0) app.print(done, () => instanceTable(done, app.color));
}

export function registerInstances(program: Command, app: App): Command {
  const instances = program.command('instances').alias('i').description('launch, list, start, stop, terminate and reach instances');

  instances
    .command('ls')
    .description('list the tenant’s instances (every page)')
    .option('--state <states>', 'only these states (comma-separated, repeatable)', parseStates)
    .option('--all', 'terminated ones too')
    .action(async (o: { state?: InstanceState[]; all?: boolean }) => {
      const api = app.api();
      const tenantId = (await app.tenant()).id;
      const rows = await allPages((cursor) => api.instances.list.query({ tenantId, cursor, limit: 100, states: o.state, includeTerminated: Boolean(o.all) }));
      app.print(rows, () => instanceTable(rows, app.color));
    });

  instances
    .command('get')
    .description('one instance, by id (or by its name when one live instance has it)')
    .argument('<id>')
    .action(async (ref: string) => {
      const api = app.api();
      const tenantId = (await app.tenant()).id;
      printOne(app, await api.instances.get.query({ tenantId, instanceId: await resolveInstanceId(api, tenantId, ref) }));
    });

  instances
    .command('launch')
    .description('launch an instance from an image')
    .requiredOption('--name <name>', 'its name')
    .requiredOption('--image <image>', 'image id or name (see `cirrus images ls`)')
    .option('--flavor <name>', 'a launch size (see `cirrus flavors ls`)')
    .option('--vcpus <n>', 'vCPUs (with --memory and --disk, instead of --flavor)', wholeNumber('--vcpus'))
    .option('--memory <MiB>', 'memory in MiB', wholeNumber('--memory'))
    .option('--disk <GiB>', 'root disk in GiB', wholeNumber('--disk'))
    .option('--nics <n>', 'network interfaces (default: the flavor’s, or 1)', wholeNumber('--nics'))
    .option('--key <name>', 'a key pair of the tenant: its public key goes on the image’s login user')
    .option('--user-data-file <path>', 'cloud-init user data (a cloud-config or a script; - reads stdin)')
    .option('--tag <key=value>', 'a tag (repeatable)', parseTag)
    .option('--spread-group <name>', 'a spread group: its instances run on different hosts')
    .option('--auto-recover', 'keep its disk on a shared pool, so it restarts on another host if its host fails')
    .addOption(waitOption().default(false))
    .addOption(timeoutOption())
    .action(async (o: LaunchOptions) => {
      const api = app.api();
      const tenantId = (await app.tenant()).id;
      const launched = await api.instances.launch.mutate(await launchInput(api, tenantId, o));
      if (!o.wait) return printOne(app, launched);
      const [done] = await waitAll(app, api, tenantId, [launched], 'running', o.timeout);
      printOne(app, done ?? (await api.instances.get.query({ tenantId, instanceId: launched.id })));
    });

  for (const [action, help] of [
    ['start', 'start stopped instances'],
    ['stop', 'stop instances (the guest is asked to shut down; --force pulls the plug)'],
    ['terminate', 'terminate instances: their disks are deleted'],
  ] as const) {
    const cmd = instances
      .command(action)
      .description(help)
      .argument('<ids...>', 'instance ids (or names)')
      .addOption(waitOption())
      .addOption(timeoutOption());
    if (action === 'stop') cmd.option('--force', 'stop at once, without waiting for the guest to shut down');
    cmd.action((refs: string[], o: { wait?: boolean; timeout: number; force?: boolean }) => lifecycle(app, action, refs, o));
  }
  return instances;
}
