// Text to key presses for "Paste text": a text console has no clipboard, so the
// text is typed. Each character becomes the physical key of a US keyboard (so
// QEMU gets a scancode) with Shift when needed; others fall back to a keysym.

export type KeyPress = { keysym: number; code: string | null; shift: boolean };

export const XK_SHIFT_L = 0xffe1;
const XK_RETURN = 0xff0d;
const XK_TAB = 0xff09;

const PUNCTUATION: Record<string, [code: string, shifted: string]> = {
  '-': ['Minus', '_'],
  '=': ['Equal', '+'],
  '[': ['BracketLeft', '{'],
  ']': ['BracketRight', '}'],
  '\\': ['Backslash', '|'],
  ';': ['Semicolon', ':'],
  "'": ['Quote', '"'],
  ',': ['Comma', '<'],
  '.': ['Period', '>'],
  '/': ['Slash', '?'],
  '`': ['Backquote', '~'],
};
const SHIFTED_DIGITS = ')!@#$%^&*(';

const usKeys = new Map<string, { code: string; shift: boolean }>();
for (let c = 0; c < 26; c++) {
  const lower = String.fromCharCode(97 + c);
  const code = `Key${lower.toUpperCase()}`;
  usKeys.set(lower, { code, shift: false });
  usKeys.set(lower.toUpperCase(), { code, shift: true });
}
for (let d = 0; d < 10; d++) {
  usKeys.set(String(d), { code: `Digit${d}`, shift: false });
  usKeys.set(SHIFTED_DIGITS[d]!, { code: `Digit${d}`, shift: true });
}
for (const [plain, [code, shifted]] of Object.entries(PUNCTUATION)) {
  usKeys.set(plain, { code, shift: false });
  usKeys.set(shifted, { code, shift: true });
}
usKeys.set(' ', { code: 'Space', shift: false });

/** The key presses that type `text`; CR LF and CR count as one Enter. */
export function keyPressesFor(text: string): KeyPress[] {
  const presses: KeyPress[] = [];
  for (const ch of text.replace(/\r\n?/g, '\n')) {
    if (ch === '\n') {
      presses.push({ keysym: XK_RETURN, code: 'Enter', shift: false });
      continue;
    }
    if (ch === '\t') {
      presses.push({ keysym: XK_TAB, code: 'Tab', shift: false });
      continue;
    }
    const cp = ch.codePointAt(0)!;
    const key = usKeys.get(ch);
    if (key) {
      presses.push({ keysym: cp, ...key });
      continue;
    }
    if (cp < 0x20 || cp === 0x7f) continue; // other control characters type nothing useful
    // Latin-1 keysyms equal their code points; the rest use X11's Unicode keysyms.
    presses.push({ keysym: cp <= 0xff ? cp : 0x01000000 | cp, code: null, shift: false });
  }
  return presses;
}

/** The most a paste types (half a minute of typing): beyond this a file transfer is the better tool. */
export const MAX_PASTE_CHARS = 2_000;
