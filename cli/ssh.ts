// How `cirrus instances ssh` reaches a guest: through a port forward from a
// host port to the guest's port 22 (server/network/port-forwards.ts), as the
// image's login user. Pure: the command (./commands/ssh.ts) looks things up
// and runs ssh with the argv built here — never through a shell.

export type SshForward = { host: string; hostPort: number; guestPort: number };

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);
const bare = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

/** The forward to the guest's SSH port, if there is one. */
export const sshForwardOf = <F extends SshForward>(forwards: readonly F[]): F | null => forwards.find((f) => f.guestPort === 22) ?? null;

/**
 * The host to connect to. Forwards are reached at the host name the server
 * was told it is (CIRRUS_PUBLIC_URL); a server that was not told says
 * localhost, and then the host this CLI reaches it at is the better guess.
 */
export function sshHost(forwardHost: string, apiUrl: string): string {
  const host = bare(forwardHost);
  const apiHost = bare(new URL(apiUrl).hostname);
  return isLoopback(host) && apiHost && !isLoopback(apiHost) ? apiHost : host;
}

/**
 * `ssh -p <port> [-i <key>] -o HostKeyAlias=<instance id> <user>@<host> [args…]`.
 * The alias files the guest's host key under the instance, not under a host
 * port that a later instance may get. The user's own arguments go after the
 * destination, where OpenSSH still reads options (`-L …`) and then the command.
 */
export function sshArgv(o: {
  instanceId: string;
  user: string;
  host: string;
  port: number;
  identity?: string | null;
  /** The forward was just made: give the host a few seconds to apply it. */
  retry?: boolean;
  extra?: readonly string[];
}): string[] {
  return [
    '-p',
    String(o.port),
    ...(o.identity ? ['-i', o.identity] : []),
    '-o',
    `HostKeyAlias=${o.instanceId}`,
    ...(o.retry ? ['-o', 'ConnectionAttempts=10'] : []),
    `${o.user}@${o.host}`,
    ...(o.extra ?? []),
  ];
}

/** Does the user already choose an identity file (`-i`, `-ifile`, `-o IdentityFile=…`)? */
export const choosesIdentity = (args: readonly string[]) =>
  args.some((a, i) => a.startsWith('-i') || (a === '-o' && /^identityfile[= ]/i.test(args[i + 1] ?? '')) || /^-oidentityfile[= ]/i.test(a));

/** For `--print`: the argv as one line a POSIX shell reads back the same. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
