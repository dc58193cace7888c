// The shape of a guest's machine: what it was started as (its vCPUs and
// memory, and the room to hot-add into) and what was hot-added since. The
// rules here are every driver's; qemu/hotplug.ts plugs the devices.
//
// A QEMU process is a machine of a fixed shape plus what was plugged into it
// since; a saved state (suspend, or a snapshot with memory) loads only into
// that same shape. So the shape is recorded — in the guest's record while the
// process or its saved state lives, and in each memory snapshot — and the
// argv for an incoming state is built from it (qemu/args.ts). A cold boot folds it
// all into the plain numbers of the spec.
import { HypervisorError, type GuestSpec } from './types';

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

/** The QOM types of x86-64 CPUs QEMU offers for hotplug (checked before one reaches an argv). */
export const CPU_DRIVER = /^[a-z0-9][a-z0-9-]{0,62}-x86_64-cpu$/;
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
