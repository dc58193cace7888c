// The shared pool: a directory every host of a cluster reaches at the same
// path (an NFS or CephFS mount, a cluster filesystem; in `npm run cluster`, a
// directory on the one machine). A guest made there keeps its whole directory
// there — disk, snapshots, seed, record — so that when its host goes down and
// is fenced, another host takes it over and boots it from the same disk.
//
// Each guest there is one host's at a time: its `owner` file names the host
// id, and a host lists, adopts at start and acts on only the guests it owns.
// A host that comes back after its guests were taken over no longer owns them
// and never sees them again. The file is written whole (a rename), so a crash
// leaves the old owner or the new one.
import crypto from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GUEST_ID_PATTERN, validateGuestId } from '../spec';

const POOL_ID_FILE = '.cirrus-pool-id';
const OWNER_FILE = 'owner';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class SharedGuests {
  /** The pool's id: made by the first host that used it, read by the others (so hosts know they share one). */
  readonly id: string;
  /** Where its guests' directories are. */
  readonly guestsDir: string;
  private readonly owned = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly hostId: string,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    this.id = poolId(dir);
    this.guestsDir = path.join(dir, 'guests');
    mkdirSync(this.guestsDir, { recursive: true, mode: 0o711 });
    for (const name of readdirSync(this.guestsDir)) if (GUEST_ID_PATTERN.test(name) && this.ownerOf(name) === hostId) this.owned.add(name);
  }

  /** Whether this host owns guest `id` there. */
  owns(id: string): boolean {
    return this.owned.has(id);
  }

  /** The ids of this host's guests there. */
  ownedIds(): string[] {
    return [...this.owned];
  }

  /** Whether the pool holds a guest `id` (made whole: it has its record). */
  holds(id: string): boolean {
    return existsSync(path.join(this.guestsDir, validateGuestId(id), 'guest.json'));
  }

  ownerOf(id: string): string | null {
    try {
      const owner = readFileSync(path.join(this.guestsDir, validateGuestId(id), OWNER_FILE), 'utf8').trim();
      return UUID.test(owner) ? owner : null;
    } catch {
      return null;
    }
  }

  /** Make guest `id` this host's (its directory exists). */
  claim(id: string): void {
    const dir = path.join(this.guestsDir, validateGuestId(id));
    const tmp = path.join(dir, `.${OWNER_FILE}.${process.pid}`);
    writeFileSync(tmp, this.hostId + '\n', { mode: 0o644 });
    renameSync(tmp, path.join(dir, OWNER_FILE));
    this.owned.add(id);
  }

  /** It is gone, or another host's now. */
  drop(id: string): void {
    this.owned.delete(id);
  }
}

/** The pool's id, made once (the first host to get there writes it; the others read it). */
function poolId(dir: string): string {
  const file = path.join(dir, POOL_ID_FILE);
  if (!existsSync(file)) {
    // Written whole, then linked into place: two hosts starting at once agree on the first one's.
    const tmp = path.join(dir, `${POOL_ID_FILE}.${process.pid}.${crypto.randomUUID()}`);
    writeFileSync(tmp, crypto.randomUUID() + '\n', { mode: 0o644 });
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  const id = readFileSync(file, 'utf8').trim();
  if (!UUID.test(id)) throw new Error(`${file} does not hold a pool id (a UUID): it is not a Cirrus shared pool`);
  return id;
}
