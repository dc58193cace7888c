// What can be told about a pasted public key from its text alone: shared by
// the import form (in the browser, before anything is sent, so a private key
// pasted by mistake never leaves the page) and the server's parser
// (./parse.ts, which then reads the key data itself). No imports: the
// browser bundles it.

/** Longer than any OpenSSH public key line (a 16384-bit RSA key is about 2,800 characters). */
export const PUBLIC_KEY_MAX_CHARS = 16_384;

export const PRIVATE_KEY_SENTENCE = 'That is a private key. Paste the public key (the .pub file); never share the private one.';

/** The OpenSSH key types Cirrus accepts, and what each is stored as. */
export const SSH_KEY_TYPES = {
  'ssh-ed25519': 'ed25519',
  'ecdsa-sha2-nistp256': 'ecdsa',
  'ecdsa-sha2-nistp384': 'ecdsa',
  'ecdsa-sha2-nistp521': 'ecdsa',
  'ssh-rsa': 'rsa',
} as const;

export type SshKeyType = keyof typeof SSH_KEY_TYPES;
export type KeyType = (typeof SSH_KEY_TYPES)[SshKeyType];

export const isSshKeyType = (s: string): s is SshKeyType => Object.hasOwn(SSH_KEY_TYPES, s);

export const ACCEPTED_TYPES_SENTENCE = 'Cirrus accepts ed25519, ECDSA (nistp256, nistp384, nistp521) and RSA (2048 bits or more) keys.';

const PRIVATE_MARKERS = [
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, // OPENSSH, RSA, EC, DSA, PKCS#8 (plain and ENCRYPTED)
  /---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----/,
  /PuTTY-User-Key-File-/,
  /b3BlbnNzaC1rZXktdjE/, // base64 of "openssh-key-v1": the body of an OpenSSH private key without its armour
];

/** Printable ASCII only, for quoting what someone pasted back to them. */
const quote = (s: string, max = 40) => {
  const clean = s.replace(/[^\x20-\x7e]/g, '');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
};

/**
 * Why `text` is not one OpenSSH public key line, judged from its text alone,
 * or null. The key data inside is checked by `parsePublicKey`.
 */
export function whyNotPublicKeyText(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return 'Paste a public key: the one line of its .pub file.';
  if (PRIVATE_MARKERS.some((m) => m.test(trimmed))) return PRIVATE_KEY_SENTENCE;
  if (trimmed.length > PUBLIC_KEY_MAX_CHARS) {
    return `That is too long for a public key (at most ${PUBLIC_KEY_MAX_CHARS.toLocaleString('en')} characters); paste the one line of the .pub file.`;
  }
  if (/-----BEGIN (RSA |EC )?PUBLIC KEY-----/.test(trimmed)) {
    return 'That is a PEM public key; Cirrus needs the one-line OpenSSH format. Convert it with ssh-keygen -i -m PKCS8 -f key.pem, or print it from the private key with ssh-keygen -y -f <private key file>.';
  }
  if (/---- BEGIN SSH2 PUBLIC KEY ----/.test(trimmed)) {
    return 'That is an SSH2 (RFC 4716) public key; Cirrus needs the one-line OpenSSH format. Convert it with ssh-keygen -i -f key.pub, or print it from the private key with ssh-keygen -y -f <private key file>.';
  }
  const lines = trimmed.split(/[\r\n]+/).filter((l) => l.trim() !== '');
  if (lines.length > 1) {
    const keys = lines.filter((l) => /^\S*(ssh-|ecdsa-sha2-)/.test(l.trim())).length;
    return keys > 1
      ? `That is ${keys} keys on ${lines.length} lines; import one public key at a time.`
      : `A public key is one line; this has ${lines.length}. Paste the single line of the .pub file.`;
  }
  const [type = '', data, ...rest] = trimmed.split(/[ \t]+/);
  if (isSshKeyType(type)) return data ? null : `The key data is missing after “${type}”; paste the whole line.`;
  if (type === 'ssh-dss') {
    return 'DSA keys (ssh-dss) are not accepted: OpenSSH no longer trusts them. Make an ed25519 key with ssh-keygen -t ed25519 and paste its .pub file.';
  }
  if (/-cert-v0\d@openssh\.com$/.test(type)) return 'That is an SSH certificate; paste the plain public key (the .pub file without -cert in its name).';
  if (type.startsWith('sk-')) return `Security-key types (${quote(type)}) are not accepted. ${ACCEPTED_TYPES_SENTENCE}`;
  if ([data ?? '', ...rest].some((t) => /^(ssh-|ecdsa-sha2-|sk-)/.test(t))) {
    return 'Remove the options before the key type (such as from=, command= or no-pty): paste the bare key, starting with ssh-ed25519, ecdsa-sha2-… or ssh-rsa.';
  }
  if (/^[A-Za-z0-9+/]{20,}={0,2}$/.test(type)) return 'The key type is missing: a public key line starts with its type, like “ssh-ed25519 AAAA…”.';
  return `“${quote(type)}” is not a key type Cirrus knows. ${ACCEPTED_TYPES_SENTENCE}`;
}
