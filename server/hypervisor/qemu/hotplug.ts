// Growing a running guest through QMP: vCPUs hot-added with device_add into
// the empty CPU slots QEMU reports (the machine has them: -smp N,maxcpus=M),
// memory as pc-dimm devices on RAM backends (the machine has slots and a
// maxmem), the root disk with block_resize. The guest onlines the CPUs and
// memory itself where its image has the udev rules for it. What a machine is
// and may take: ../machine.ts.
import { HypervisorError } from '../types';
import { CPU_DRIVER, type HotCpu, type HotDimm, type MachineShape } from '../machine';
import type { QmpExecutor } from './qmp-commands';
import { ROOT_DEVICE } from './block-jobs';
export { coldShape, hotAddWhyNot, MEMORY_SLOTS, MEMORY_STEP_MIB, shapeTotals, validateShape, type HotCpu, type HotDimm, type MachineShape } from '../machine';

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
