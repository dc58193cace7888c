import { describe, expect, it } from 'vitest';
import { choosesIdentity, shellLine, sshArgv, sshForwardOf, sshHost } from './ssh';

describe('ssh through a port forward', () => {
  it('picks the forward to port 22', () => {
    const fw = [
      { host: 'h', hostPort: 40001, guestPort: 80 },
      { host: 'h', hostPort: 40002, guestPort: 22 },
    ];
    expect(sshForwardOf(fw)).toBe(fw[1]);
    expect(sshForwardOf(fw.slice(0, 1))).toBeNull();
  });

  it('connects where the server says, or where the CLI reaches it when the server only knows localhost', () => {
    expect(sshHost('cirrus.example.com', 'https://cirrus.example.com')).toBe('cirrus.example.com');
    expect(sshHost('localhost', 'https://cirrus.example.com')).toBe('cirrus.example.com');
    expect(sshHost('localhost', 'http://127.0.0.1:3000')).toBe('localhost');
    expect(sshHost('gw.example.com', 'http://10.1.2.3:3000')).toBe('gw.example.com');
    expect(sshHost('localhost', 'http://[2001:db8::1]:3000')).toBe('2001:db8::1');
  });

  it('builds the argv: port, key, host key filed under the instance, destination, then the user’s arguments', () => {
    expect(sshArgv({ instanceId: 'i-0123456789abcdef0', user: 'debian', host: 'h', port: 40002, identity: '/home/u/.ssh/k.pem', extra: ['-L', '8080:localhost:80', 'uptime'] })).toEqual([
      '-p',
      '40002',
      '-i',
      '/home/u/.ssh/k.pem',
      '-o',
      'HostKeyAlias=i-0123456789abcdef0',
      'debian@h',
      '-L',
      '8080:localhost:80',
      'uptime',
    ]);
    expect(sshArgv({ instanceId: 'i-1', user: 'u', host: 'h', port: 1, retry: true })).toEqual(['-p', '1', '-o', 'HostKeyAlias=i-1', '-o', 'ConnectionAttempts=10', 'u@h']);
  });

  it('sees when the user chooses the key', () => {
    expect(choosesIdentity(['-i', 'k'])).toBe(true);
    expect(choosesIdentity(['-ik'])).toBe(true);
    expect(choosesIdentity(['-o', 'IdentityFile=k'])).toBe(true);
    expect(choosesIdentity(['-oIdentityFile=k'])).toBe(true);
    expect(choosesIdentity(['-v', 'uptime'])).toBe(false);
  });

  it('prints a line a shell reads back as the same argv', () => {
    expect(shellLine(['ssh', '-p', '22', 'u@h', 'echo', "it's here; rm -rf /"])).toBe(`ssh -p 22 u@h echo 'it'\\''s here; rm -rf /'`);
  });
});
