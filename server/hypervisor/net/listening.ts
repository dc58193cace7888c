// TCP ports something on this machine listens on, read from /proc (no
// process spawned). A port forward's DNAT also catches the host's own
// connections to that port (loopback clients reach guests that way), so a
// forward on a port a host service uses — the database, Cirrus itself —
// would hijack its clients: such ports are never handed out.
import { readFileSync } from 'node:fs';

const LISTEN = '0A';

/** Local ports in LISTEN state in /proc/net/tcp{,6}-format tables. */
export function parseListeningPorts(tables: string[]): Set<number> {
  const ports = new Set<number>();
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      // "  0: 0100007F:1F90 00000000:0000 0A …": local address:port (hex), remote, state.
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== LISTEN) continue;
      const port = Number.parseInt(f[1]!.split(':').pop()!, 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return ports;
}

export function listeningTcpPorts(files = ['/proc/net/tcp', '/proc/net/tcp6']): Set<number> {
  return parseListeningPorts(
    files.map((f) => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    }),
  );
}
