// Boots the Cirrus runtime (no HTTP) in a child process and waits to be killed:
// lets tests kill -9 a "server" and check what the next start finds.
import { boot } from '../runtime/boot';

const runtime = await boot({ port: 0, log: () => undefined });
await runtime.db.execute('create table if not exists crash_marker (note text)');
await runtime.db.execute("insert into crash_marker values ('written before the crash')");
process.stdout.write('ready\n');
setInterval(() => undefined, 1000);
