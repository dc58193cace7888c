// Reads a kernel module's dependencies from its ELF `.modinfo` section (the
// same data `modinfo -F depends` prints; Debian's package ships no
// modules.dep, depmod writes that at install time) and orders a module set so
// every module comes after the modules it depends on.

/** The NUL-separated key=value strings of a module's .modinfo section. */
export function readModinfo(elf: Buffer): Map<string, string[]> {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) {
    throw new Error('not a little-endian ELF64 kernel module');
  }
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number) => {
    const base = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(base),
      offset: Number(elf.readBigUInt64LE(base + 0x18)),
      size: Number(elf.readBigUInt64LE(base + 0x20)),
    };
  };
  const strtab = section(shstrndx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameEnd = elf.indexOf(0, strtab.offset + s.name);
    const name = elf.toString('latin1', strtab.offset + s.name, nameEnd);
    if (name !== '.modinfo') continue;
    for (const kv of elf.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      const key = kv.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), kv.slice(eq + 1)]);
    }
  }
  return out;
}

export function moduleDepends(elf: Buffer): string[] {
  const dep = readModinfo(elf).get('depends')?.[0] ?? '';
  return dep.split(',').filter((d) => d.length > 0);
}

/**
 * Order `wanted` (and everything they depend on) dependencies-first. Ties keep
 * the order of `wanted`. `dependsOf` returns a module's direct dependencies.
 */
export function orderModules(wanted: string[], dependsOf: (name: string) => string[]): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]) => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const dep of dependsOf(name)) visit(dep, [...chain, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const w of wanted) visit(w, []);
  return order;
}
