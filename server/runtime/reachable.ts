// Directories in the data directory that processes running as other users
// must reach: PostgreSQL's cluster (the `postgres` user) and what guests'
// QEMU read and write (each guest runs as a user of its own: its directory,
// the image catalog, volumes, captured images). The data directory itself is
// made passable (o+x, nothing listable). When a directory above it that
// Cirrus does not own is closed to others (a checkout under /root, say), such
// a directory lives in /var/lib/cirrus/<hash of the data directory>/ instead,
// with a symbolic link to it where it would have been, so every path Cirrus
// shows still starts in the data directory.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Whether others can pass through every directory from / down to `dir`. */
export function traversableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    if ((fs.statSync(current).mode & 0o001) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * The real directory for `<dataDir>/<name>`: there, or (as root, when the
 * data directory cannot be reached by others) under /var/lib/cirrus, linked
 * from there. Made if missing, with `mode` (unless `create` is false: the
 * cluster's directory is made by initdb, as its own user).
 */
export function reachableDir(dataDir: string, name: string, opts: { mode: number; create?: boolean; log?: (m: string) => void; isRoot?: boolean }): string {
  const make = (dir: string) => {
    if (opts.create !== false) fs.mkdirSync(dir, { recursive: true, mode: opts.mode });
  };
  const preferred = path.join(path.resolve(dataDir), name);
  const isRoot = opts.isRoot ?? process.geteuid?.() === 0;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  if (isRoot) {
    const st = fs.statSync(dataDir);
    if (st.uid === 0 && (st.mode & 0o011) !== 0o011) fs.chmodSync(dataDir, (st.mode & 0o777) | 0o011);
  }
  const existing = fs.lstatSync(preferred, { throwIfNoEntry: false });
  if (existing?.isSymbolicLink()) {
    const target = path.resolve(path.dirname(preferred), fs.readlinkSync(preferred));
    make(target);
    return fs.existsSync(target) ? fs.realpathSync(target) : target;
  }
  if (existing || !isRoot || traversableByOthers(dataDir)) {
    make(preferred);
    return preferred;
  }
  const hash = crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  const elsewhere = path.join('/var/lib/cirrus', hash, name);
  fs.mkdirSync(path.dirname(elsewhere), { recursive: true, mode: 0o711 });
  make(elsewhere);
  fs.symlinkSync(elsewhere, preferred);
  opts.log?.(`[data] ${dataDir} is not reachable by other users; ${name} lives in ${elsewhere} (linked from ${preferred})`);
  return elsewhere;
}
