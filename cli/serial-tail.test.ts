import { describe, expect, it } from 'vitest';
import { newSerialText } from './serial-tail';

const log = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}\n`).join('');

describe('what a new serial tail adds', () => {
  it('is what was appended while the log is shorter than the tail', () => {
    expect(newSerialText('', 'boot\n')).toBe('boot\n');
    expect(newSerialText('boot\n', 'boot\nlogin: ')).toBe('login: ');
    expect(newSerialText('boot\n', 'boot\n')).toBe('');
  });

  it('is what was appended once the tail slides', () => {
    expect(newSerialText(log(0, 100), log(30, 120))).toBe(log(100, 120));
  });

  it('survives half a character at the cut', () => {
    expect(newSerialText(log(0, 100), `\uFFFD${log(30, 105)}`)).toBe(log(100, 105));
  });

  it('is the whole tail when the log started again or moved on by more than a tail', () => {
    expect(newSerialText(log(0, 100), log(500, 510))).toBe(log(500, 510));
    expect(newSerialText('old boot log that is long enough to matter\n', 'new boot\n')).toBe('new boot\n');
  });

  it('is nothing when the tail comes back empty', () => {
    expect(newSerialText('boot\n', '')).toBe('');
  });
});
