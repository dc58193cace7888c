// A new ed25519 key pair, made with node:crypto: the public half as an
// OpenSSH line and the private half in OpenSSH's own file format
// ("openssh-key-v1", PROTOCOL.key in OpenSSH's source), unencrypted, which
// `ssh -i` and `ssh-keygen -y -f` read. Node can export ed25519 only as
// PKCS#8, which OpenSSH also reads but writes never; the native format is
// what a user expects in ~/.ssh.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parsePublicKey, sanitiseComment, wireString, type PublicKey } from './parse';

export type GeneratedKey = {
  publicKey: PublicKey;
  /** The private key file's text. Hand it to the user once; never store or log it. */
  privateKey: string;
};

const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** Base64 in lines of 70, as ssh-keygen writes the file. */
const armour = (body: Buffer) =>
  `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString('base64').replace(/.{1,70}/g, '$&\n')}-----END OPENSSH PRIVATE KEY-----\n`;

export function generateEd25519(comment: string): GeneratedKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const cleanComment = sanitiseComment(comment) ?? '';
  const blob = Buffer.concat([wireString('ssh-ed25519'), wireString(pub)]);

  // The private section: a random check number twice (a decryption check; here only a format rule),
  // the key (OpenSSH keeps the 32-byte seed followed by the public key), the comment, then
  // padding 1, 2, 3… to the cipher's block size (8 for "none").
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, wireString('ssh-ed25519'), wireString(pub), wireString(Buffer.concat([seed, pub])), wireString(cleanComment)]);
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);

  const file = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    wireString('none'), // cipher
    wireString('none'), // kdf
    wireString(''), // kdf options
    uint32(1), // one key
    wireString(blob),
    wireString(section),
  ]);

  const line = `ssh-ed25519 ${blob.toString('base64')}${cleanComment ? ` ${cleanComment}` : ''}`;
  const parsed = parsePublicKey(line);
  if (!parsed.ok) throw new Error(`a generated ed25519 key did not parse: ${parsed.message}`);
  return { publicKey: parsed.key, privateKey: armour(file) };
}
