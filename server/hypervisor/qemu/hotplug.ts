// Growing a running guest: vCPUs hot-added with device_add into the empty
// CPU slots QEMU reports (the machine has them: -smp N,maxcpus=M), memory as
// pc-dimm devices on RAM backends (the machine has slots and a maxmem), the
// root disk with block_resize. The guest onlines the CPUs and memory itself
// where its image has the udev rules for it.
//
// A QEMU process is a machine of a fixed shape plus what was plugged into it
// since; a saved state (suspend, or a snapshot with memory) loads only into
// that same shape. So the shape is recorded — in the guest's record while the
// process or its saved state lives, and in each memory snapshot — and the
// argv for an incoming state is built from it (args.ts). A cold boot folds it
// all into the plain numbers of the spec.
import { HypervisorError, type GuestSpec } from '../types';
import type { QmpExecutor } from './qmp-commands';
import { ROOT_DEVICE } from './block-jobs';

export interface HotCpu {
  id: string;
  /** The CPU's QOM type as QEMU names it for this machine, e.g. "max-x86_64-cpu". */
  driver: string;
  props: { 'socket-id': number; 'core-id': number; 'thread-id': number };
}

export interface HotDimm {
  id: string;
  sizeMiB: number;
}

/** What a QEMU process was started as, and what was plugged into it since. */
export interface MachineShape {
  vcpus: number;
  maxVcpus: number;
  memoryMiB: number;
  maxMemoryMiB: number;
  cpus: HotCpu[];
  dimms: HotDimm[];
}

/** Memory hot-add slots a machine with room for it gets (each hot-add takes one). */
export const MEMORY_SLOTS = 8;
/** Hot-added memory comes in whole Linux memory blocks (128 MiB on x86-64). */
export const MEMORY_STEP_MIB = 128;

const CPU_DRIVER = /^[a-z0-9][a-z0-9-]{0,62}-x86_64-cpu$/;
const DEVICE_ID = /^(cpu|dimm)[0-9]{1,3}$/;

/** The machine a cold boot of `spec` makes: its numbers, nothing plugged. */
export function coldShape(spec: GuestSpec): MachineShape {
  return {
    vcpus: spec.vcpus,
    maxVcpus: Math.max(spec.vcpus, spec.maxVcpus ?? spec.vcpus),
    memoryMiB: spec.memoryMiB,
    maxMemoryMiB: Math.max(spec.memoryMiB, spec.maxMemoryMiB ?? spec.memoryMiB),
    cpus: [],
    dimms: [],
  };
}

/** What the guest has with everything plugged. */
export function shapeTotals(m: MachineShape): { vcpus: number; memoryMiB: number } {
  return { vcpus: m.vcpus + m.cpus.length, memoryMiB: m.memoryMiB + m.dimms.reduce((a, d) => a + d.sizeMiB, 0) };
}

const whole = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/** A shape read back from a file, checked before any of it reaches QEMU's argv. */
export function validateShape(raw: unknown): MachineShape {
  const m = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const bad = (what: string) => new HypervisorError('INVALID_SPEC', `recorded machine shape: ${what}`);
  if (!whole(m.vcpus, 1, 64) || !whole(m.maxVcpus, m.vcpus as number, 64)) throw bad('vCPUs');
  if (!whole(m.memoryMiB, 16, 512 * 1024) || !whole(m.maxMemoryMiB, m.memoryMiB as number, 512 * 1024)) throw bad('memory');
  const cpus = Array.isArray(m.cpus) ? m.cpus : [];
  const dimms = Array.isArray(m.dimms) ? m.dimms : [];
  const shape: MachineShape = {
    vcpus: m.vcpus as number,
    maxVcpus: m.maxVcpus as number,
    memoryMiB: m.memoryMiB as number,
    maxMemoryMiB: m.maxMemoryMiB as number,
    cpus: cpus.map((c: Record<string, unknown>) => {
      const p = (c?.props ?? {}) as Record<string, unknown>;
      if (typeof c?.id !== 'string' || !DEVICE_ID.test(c.id) || typeof c.driver !== 'string' || !CPU_DRIVER.test(c.driver)) throw bad('a CPU');
      if (!['socket-id', 'core-id', 'thread-id'].every((k) => whole(p[k], 0, 1023))) throw bad('a CPU slot');
      return { id: c.id, driver: c.driver, props: { 'socket-id': p['socket-id'] as number, 'core-id': p['core-id'] as number, 'thread-id': p['thread-id'] as number } };
    }),
    dimms: dimms.map((d: Record<string, unknown>) => {
      if (typeof d?.id !== 'string' || !DEVICE_ID.test(d.id) || !whole(d.sizeMiB, MEMORY_STEP_MIB, 512 * 1024)) throw bad('a memory module');
      return { id: d.id, sizeMiB: d.sizeMiB as number };
    }),
  };
  const t = shapeTotals(shape);
  if (t.vcpus > shape.maxVcpus || t.memoryMiB > shape.maxMemoryMiB || shape.dimms.length > MEMORY_SLOTS) throw bad('more plugged than it has room for');
  return shape;
}

/** Why `to` cannot be hot-added into the running machine `m`; null when it can. */
export function hotAddWhyNot(m: MachineShape, to: { vcpus: number; memoryMiB: number }): string | null {
  const now = shapeTotals(m);
  if (to.vcpus < now.vcpus || to.memoryMiB < now.memoryMiB) return `a running guest is not made smaller (it has ${now.vcpus} vCPU and ${now.memoryMiB} MiB): stop it first`;
  if (to.vcpus > m.maxVcpus) return `it was started with room for ${m.maxVcpus} vCPU at most: stop it to go beyond`;
  if (to.memoryMiB > m.maxMemoryMiB) return `it was started with room for ${m.maxMemoryMiB} MiB at most: stop it to go beyond`;
  const more = to.memoryMiB - now.memoryMiB;
  if (more % MEMORY_STEP_MIB !== 0) return `memory is added to a running guest in steps of ${MEMORY_STEP_MIB} MiB`;
  if (more > 0 && m.dimms.length >= MEMORY_SLOTS) return `its ${MEMORY_SLOTS} memory slots are used: stop it to add more`;
  return null;
}

interface HotpluggableCpu {
  type: string;
  'qom-path'?: string;
  props: { 'socket-id'?: number; 'core-id'?: number; 'thread-id'?: number };
}

/** The machine's empty CPU slots, lowest first, as the CPUs that would fill them (ids from `nextIndex` on). */
export async function freeCpuSlots(m: QmpExecutor, nextIndex: number): Promise<HotCpu[]> {
  const slots = (await m.execute<HotpluggableCpu[]>('query-hotpluggable-cpus'))
    .filter((c) => !c['qom-path'])
    .map((c) => ({ driver: c.type, props: { 'socket-id': c.props['socket-id'] ?? 0, 'core-id': c.props['core-id'] ?? 0, 'thread-id': c.props['thread-id'] ?? 0 } }))
    .sort((a, b) => a.props['socket-id'] - b.props['socket-id'] || a.props['core-id'] - b.props['core-id'] || a.props['thread-id'] - b.props['thread-id']);
  for (const s of slots) if (!CPU_DRIVER.test(s.driver)) throw new HypervisorError('BACKEND_FAILED', `QEMU offers CPUs of an unexpected type ${JSON.stringify(s.driver)}`);
  return slots.map((s, i) => ({ id: `cpu${nextIndex + i}`, ...s }));
}

export function plugCpu(m: QmpExecutor, cpu: HotCpu): Promise<unknown> {
  return m.execute('device_add', { driver: cpu.driver, id: cpu.id, ...cpu.props });
}

/** Plug one memory module of `sizeMiB` (a RAM backend and its pc-dimm). */
export async function plugMemory(m: QmpExecutor, shape: MachineShape, sizeMiB: number): Promise<HotDimm> {
  const dimm: HotDimm = { id: `dimm${shape.dimms.length}`, sizeMiB };
  await m.execute('object-add', { 'qom-type': 'memory-backend-ram', id: `mem-${dimm.id}`, size: sizeMiB * 1024 * 1024 });
  try {
    await m.execute('device_add', { driver: 'pc-dimm', id: dimm.id, memdev: `mem-${dimm.id}` });
  } catch (e) {
    await m.execute('object-del', { id: `mem-${dimm.id}` }).catch(() => undefined); // nothing half-plugged stays
    throw e;
  }
  return dimm;
}

/** Grow the root disk the guest sees to `gib` (the active file's virtual size). */
export function growRootDisk(m: QmpExecutor, gib: number): Promise<unknown> {
  return m.execute('block_resize', { device: ROOT_DEVICE, size: gib * 1024 ** 3 });
}
