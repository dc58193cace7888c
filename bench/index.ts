// `npm run bench [-- NAME…]`: sets up what is missing (packages, guest images),
// prints the machine, accelerator and commit, then runs each benchmark module in
// turn and prints its figures. Add a module by writing bench/<name>.ts exporting a
// BenchModule and listing it below.
import clusterBench from './cluster';
import consoleOverhead from './console-overhead';
import densityBench from './density';
import { environment } from './environment';
import hotplugBench from './hotplug';
import imagesBench from './images';
import instancesBench from './instances';
import invoiceBench from './invoice';
import launchLatency from './launch-latency';
import migrationBench from './migration';
import networkBench from './network';
import suspendBench from './suspend';
import volumesBench from './volumes';
import type { BenchModule } from './types';

const modules: BenchModule[] = [launchLatency, instancesBench, consoleOverhead, invoiceBench, networkBench, imagesBench, suspendBench, volumesBench, hotplugBench, densityBench, migrationBench, clusterBench];

async function main(): Promise<number> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const chosen = only.length ? modules.filter((m) => only.includes(m.name)) : modules;
  if (chosen.length === 0) {
    console.error(`no benchmark named ${only.join(', ')}; have: ${modules.map((m) => m.name).join(', ')}`);
    return 1;
  }
  const env = await environment();
  const envWidth = Math.max(...env.map((e) => e.label.length));
  console.log('== where');
  for (const e of env) console.log(`  ${e.label.padEnd(envWidth)}  ${e.value}`);
  let failed = 0;
  const targets: { bench: string; label: string; text: string; met: boolean }[] = [];
  for (const m of chosen) {
    console.log(`\n== ${m.name}: ${m.description}`);
    const started = Date.now();
    try {
      const figures = await m.run();
      const width = Math.max(...figures.map((f) => f.label.length));
      for (const f of figures) {
        const value = typeof f.value === 'number' ? (Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(2)) : f.value;
        const target = f.target ? `   target ${f.target.text}: ${f.target.met ? 'met' : 'NOT met'}` : '';
        console.log(`  ${f.label.padEnd(width)}  ${value}${f.unit ? ` ${f.unit}` : ''}${target}`);
        if (f.target) targets.push({ bench: m.name, label: f.label, ...f.target });
      }
      console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.error(`  FAILED: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (targets.length) {
    console.log('\n== targets');
    for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.bench}: ${t.label} (${t.text})`);
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code));
