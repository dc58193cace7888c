import { privateKeyFileName } from '../key-pairs/key-pair-rules';

/**
 * The command that logs in through a host port forwarded to the guest's port
 * 22: the image's login user, and the key pair's file as Cirrus names a
 * generated one's download (`<name>.pem`, shell-friendly). Pure: the page and the tests share it.
 */
export function sshCommand(f: { hostPort: number; host: string }, loginUser: string | null, keyName: string | null): string {
  return ['ssh', ...(keyName ? ['-i', privateKeyFileName(keyName)] : []), '-p', String(f.hostPort), `${loginUser ?? '<user>'}@${f.host}`].join(' ');
}
