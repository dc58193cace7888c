// What clones need of the disk files on a host. A linked clone's disk is an
// overlay on a frozen file of its source's chain (a snapshot's file, or a
// point frozen for it), so files of one guest can be needed by another: such
// a file outlives what would otherwise remove it. A snapshot deleted under a
// clone gives up its name but keeps its file; a destroyed source leaves its
// needed files behind in its directory, marked by `retained.json`; the files
// nobody needs any more are collected. What is needed is asked of the files
// themselves (qemu-img's backing chains), not remembered.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StateProgress } from '../types';
import { readRecordFile, writeRecordFile } from './safe-files';

const run = promisify(execFile);

/** Marks a destroyed guest's directory that still holds files its linked clones read. */
export const RETAINED_FILE = 'retained.json';

/** `file` and every file under it, to the image it ends in (read without taking QEMU's lock). */
export async function backingChain(qemuImg: string, file: string): Promise<string[]> {
  // A header can name anything (a FIFO that never answers, too): bounded in time.
  const { stdout } = await run(qemuImg, ['info', '-U', '--backing-chain', '--output=json', file], { maxBuffer: 4 << 20, timeout: 30_000 });
  return (JSON.parse(stdout) as { filename: string }[]).map((i) => i.filename);
}

/** Every file reachable from `roots` through their backing chains. */
export async function closureOf(qemuImg: string, roots: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const root of roots) {
    if (out.has(root) || !existsSync(root)) continue;
    for (const f of await backingChain(qemuImg, root)) out.add(f);
  }
  return out;
}

/**
 * Copy `source` (with everything under it) into one standalone qcow2 at
 * `target`, passing on how far it is: qemu-img's own percentage of the disk's
 * `totalBytes` (its virtual size).
 */
export function convertFlat(qemuImg: string, source: string, target: string, totalBytes: number, onProgress?: (p: StateProgress) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(qemuImg, ['convert', '-U', '-p', '-f', 'qcow2', '-O', 'qcow2', source, target], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const pct = /\(([\d.]+)\/100%\)[^(]*$/.exec(chunk);
      if (pct && onProgress) onProgress({ doneBytes: Math.round((Number(pct[1]) / 100) * totalBytes), totalBytes });
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`qemu-img convert exited ${code}: ${err.trim()}`))));
  });
}

/** The qcow2 files in a directory, as absolute paths. */
export function qcow2Files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.qcow2')).map((f) => path.join(dir, f)) : [];
}

/** What a destroyed guest's kept directory records: its kept files, and what they are built on (the lineage they may name). */
export interface RetainedRecord {
  files: string[];
  at: string;
  /** The base disk of the guest's image, and the point it was itself linked from. */
  baseDisk?: string | null;
  linkedTo?: string | null;
}

/** Empty a destroyed guest's directory but for the files `keep` (marked retained), or remove it when none is kept. */
export function retainOnly(dir: string, keep: Set<string>, lineage: { baseDisk: string | null; linkedTo: string | null } = { baseDisk: null, linkedTo: null }): void {
  const kept = qcow2Files(dir).filter((f) => keep.has(f));
  if (kept.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  // The marker first: from here the directory is a store of kept files, not a guest.
  const record: RetainedRecord = { files: kept.map((f) => path.basename(f)), at: new Date().toISOString(), ...lineage };
  writeRecordFile(path.join(dir, RETAINED_FILE), JSON.stringify(record) + '\n');
  for (const name of readdirSync(dir)) {
    const f = path.join(dir, name);
    if (name !== RETAINED_FILE && !keep.has(f)) rmSync(f, { recursive: true, force: true });
  }
}

/** A kept directory's record (only the server's own file counts). */
export function readRetained(dir: string): RetainedRecord | null {
  try {
    return JSON.parse(readRecordFile(path.join(dir, RETAINED_FILE))) as RetainedRecord;
  } catch {
    return null;
  }
}

/** Whether a directory is what a destroyed guest left for its clones. */
export function isRetainedDir(dir: string): boolean {
  return existsSync(path.join(dir, RETAINED_FILE));
}

/** Files kept in a retained directory that are no longer needed go; the directory goes with the last. */
export function collectRetainedDir(dir: string, needed: Set<string>): void {
  const left = qcow2Files(dir).filter((f) => {
    if (needed.has(f)) return true;
    rmSync(f, { force: true });
    return false;
  });
  if (left.length === 0) rmSync(dir, { recursive: true, force: true });
}
