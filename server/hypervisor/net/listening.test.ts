import { describe, expect, it } from 'vitest';
import { parseListeningPorts } from './listening';

describe('parseListeningPorts', () => {
  it('reads the local ports of LISTEN sockets only, IPv4 and IPv6', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 2150 1 0 100 0 0 10 0',
      '   1: 0100007F:9C40 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 2151 1 0 20 4 30 10 -1',
    ].join('\n');
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3001 1 0 100 0 0 10 0',
    ].join('\n');
    // 0x1538 = 5432 listening; 0x9C40 = 40000 is an established client; 0x0BB8 = 3000 on IPv6.
    expect([...parseListeningPorts([tcp, tcp6])].sort((a, b) => a - b)).toEqual([3000, 5432]);
  });
});
