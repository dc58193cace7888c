// Helpers shared by the QEMU integration tests and the benchmarks (not a test file).
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { dataPath } from '../../config/paths';
import { DEFAULT_IMAGE_ID, IMAGE_MANIFEST } from '../images/catalog';

/**
 * Where the built default image is: CIRRUS_IMAGES_DIR, else the data dir's
 * images, else the repository's ./.data/images (tests often point
 * CIRRUS_DATA_DIR at a scratch directory; `npm run images` builds into the
 * default one).
 */
export function testImagesDir(): string {
  const candidates = [
    process.env.CIRRUS_IMAGES_DIR,
    dataPath('images'),
    path.resolve(import.meta.dirname, '../../../.data/images'),
  ].filter((d): d is string => Boolean(d));
  const found = candidates.find((d) => existsSync(path.join(d, DEFAULT_IMAGE_ID, IMAGE_MANIFEST)));
  if (!found) throw new Error(`no built guest image in ${candidates.join(' or ')}: run \`npm run images\``);
  return found;
}

/** A conversation with a guest's serial console. */
export class SerialSession {
  private out = '';
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (b: Buffer) => (this.out += b.toString('utf8')));
    sock.on('error', () => undefined);
  }

  static async open(socketPath: string): Promise<SerialSession> {
    const sock = net.createConnection({ path: socketPath });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return new SerialSession(sock);
  }

  get output(): string {
    return this.out;
  }

  send(line: string): void {
    this.sock.write(line + '\n');
  }

  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      if (Date.now() > until) throw new Error(`serial console never showed ${re}; last output:\n${this.out.slice(-800)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Poll `fn` until it returns a truthy value or time runs out. */
/** Run a shell line in a guest over its serial console (Tiny Linux's root shell) and return what it printed. */
export async function guestShell(driver: { console(id: string): Promise<{ serialSocket: string }> }, id: string, line: string): Promise<string> {
  const serial = await SerialSession.open((await driver.console(id)).serialSocket);
  try {
    const tag = `t${Math.random().toString(36).slice(2, 8)}`;
    serial.send('');
    // The tag and its value meet only in the output, not in the echo of the typed line.
    serial.send(`echo "${tag}""=$(${line})"`);
    return (await serial.waitFor(new RegExp(`${tag}=(.*)\\r?\\n`)))[1]!.trim();
  } finally {
    serial.close();
  }
}

export async function eventually<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface HardwareReport {
  vcpus: number;
  memKb: number;
  diskBytes: number;
  nics: number;
  macs: string[];
  /** Each NIC's DHCP address, in NIC order ('-' when it got none). */
  ips: string[];
}

/** Parse the image's `CIRRUS-HW …` line. */
export function parseHardwareReport(text: string): HardwareReport | null {
  const m = /CIRRUS-HW vcpus=(\d+) mem_kb=(\d+) disk_bytes=(\d+) nics=(\d+) macs=([0-9a-f:,]*)(?: ips=([0-9.,-]*))?\r?\n/.exec(text);
  if (!m) return null;
  return {
    vcpus: Number(m[1]),
    memKb: Number(m[2]),
    diskBytes: Number(m[3]),
    nics: Number(m[4]),
    macs: m[5] ? m[5].split(',') : [],
    ips: m[6] ? m[6].split(',') : [],
  };
}

/** Check a PNG's structure, CRCs and that its pixel data inflates to the right size. */
export function inspectPng(png: Buffer): { width: number; height: number } {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(sig)) throw new Error('not a PNG signature');
  let off = 8;
  let width = 0;
  let height = 0;
  let bpp = 0;
  const idat: Buffer[] = [];
  let sawEnd = false;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    const crc = png.readUInt32BE(off + 8 + len);
    if (crc32(png.subarray(off + 4, off + 8 + len)) !== crc) throw new Error(`bad CRC in ${type}`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[data[9] ?? -1] ?? 0;
      bpp = (channels * (data[8] ?? 8)) / 8;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    off += 12 + len;
  }
  if (!sawEnd || width === 0 || height === 0) throw new Error('PNG incomplete');
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== height * (1 + Math.ceil(width * bpp))) throw new Error('PNG pixel data has the wrong size');
  return { width, height };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The first bytes a VNC server sends: its protocol version. */
export async function vncGreeting(socketPath: string): Promise<string> {
  const sock = net.createConnection({ path: socketPath });
  try {
    return await new Promise<string>((resolve, reject) => {
      let got = '';
      const t = setTimeout(() => reject(new Error('no VNC greeting')), 5_000);
      sock.on('data', (b: Buffer) => {
        got += b.toString('latin1');
        if (got.length >= 12) {
          clearTimeout(t);
          resolve(got.slice(0, 12));
        }
      });
      sock.on('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  } finally {
    sock.destroy();
  }
}
