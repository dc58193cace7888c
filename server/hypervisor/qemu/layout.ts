import path from 'node:path';
import { validateGuestId } from '../spec';

/** Everything one guest owns lives in `<guestsDir>/<id>/` (qemu/jail.ts says who may do what there). */
export interface GuestLayout {
  dir: string;
  /**
   * What QEMU makes at start (sockets, pid file) and the files it writes to
   * beside its disks (serial log, screenshots): a directory its user may write
   * in only until QEMU is up, so nothing there can be swapped for a link while
   * the server uses it (jail.ts).
   */
  runDir: string;
  /** The validated spec and image id, written at create. */
  specFile: string;
  disk: string;
  /** The NoCloud seed (cloud-init images only), attached read-only. */
  seedIso: string;
  qmpSocket: string;
  /** The guest agent's virtio-serial port (images with an agent). */
  qgaSocket: string;
  vncSocket: string;
  serialSocket: string;
  serialLog: string;
  /** The previous part of the serial log after a rotation. */
  serialLogOld: string;
  pidFile: string;
  /** The guest's saved running state (suspended to disk); complete whenever it exists. */
  stateFile: string;
  /** Where a save writes until it is complete. */
  statePartial: string;
  /** Scratch file QEMU writes screenshots to. */
  screendump: string;
  /** QEMU's own output (errors at start), rewritten at each start. */
  qemuLog: string;
  /** Where the server listens for a state QEMU saves (state-stream.ts). */
  migrateSocket: string;
  /** Where a QEMU waiting for a saved state listens for it. */
  incomingSocket: string;
  /** Live migration, target: where its QEMU serves the blank disk the source mirrors into (NBD). */
  nbdSocket: string;
  /** Live migration, source: where the server relays the mirror's NBD connection to the target. */
  mirrorSocket: string;
}

/** Unix socket paths are limited to 107 bytes by the kernel. */
export const MAX_SOCKET_PATH = 107;

export function guestLayout(guestsDir: string, id: string): GuestLayout {
  const dir = path.join(path.resolve(guestsDir), validateGuestId(id));
  const run = path.join(dir, 'run');
  return {
    dir,
    runDir: run,
    specFile: path.join(dir, 'guest.json'),
    disk: path.join(dir, 'disk.qcow2'),
    seedIso: path.join(dir, 'seed.iso'),
    qmpSocket: path.join(run, 'qmp.sock'),
    qgaSocket: path.join(run, 'qga.sock'),
    vncSocket: path.join(run, 'vnc.sock'),
    serialSocket: path.join(run, 'serial.sock'),
    serialLog: path.join(run, 'serial.log'),
    serialLogOld: path.join(run, 'serial.log.1'),
    pidFile: path.join(run, 'qemu.pid'),
    screendump: path.join(run, 'screen.png'),
    stateFile: path.join(dir, 'saved.state'),
    statePartial: path.join(dir, 'saved.state.partial'),
    qemuLog: path.join(run, 'qemu.log'),
    migrateSocket: path.join(run, 'migrate.sock'),
    incomingSocket: path.join(run, 'incoming.sock'),
    nbdSocket: path.join(run, 'nbd.sock'),
    mirrorSocket: path.join(run, 'mirror.sock'),
  };
}
