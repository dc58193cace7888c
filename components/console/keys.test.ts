import { describe, expect, it } from 'vitest';
import { keyPressesFor } from './keys';

describe('keyPressesFor', () => {
  it('types letters, digits and punctuation as US keys with Shift where needed', () => {
    expect(keyPressesFor('aZ1!')).toEqual([
      { keysym: 0x61, code: 'KeyA', shift: false },
      { keysym: 0x5a, code: 'KeyZ', shift: true },
      { keysym: 0x31, code: 'Digit1', shift: false },
      { keysym: 0x21, code: 'Digit1', shift: true },
    ]);
    expect(keyPressesFor('> "/|').map((k) => [k.code, k.shift])).toEqual([
      ['Period', true],
      ['Space', false],
      ['Quote', true],
      ['Slash', false],
      ['Backslash', true],
    ]);
  });
  it('turns line ends into one Enter each and keeps tabs', () => {
    expect(keyPressesFor('a\r\nb\nc\r\t').map((k) => k.code)).toEqual(['KeyA', 'Enter', 'KeyB', 'Enter', 'KeyC', 'Enter', 'Tab']);
  });
  it('falls back to keysyms for other characters and drops control characters', () => {
    expect(keyPressesFor('é€\x07')).toEqual([
      { keysym: 0xe9, code: null, shift: false },
      { keysym: 0x010020ac, code: null, shift: false },
    ]);
  });
});
