// Inputs of the key pair procedures, shared by tRPC and the forms (no server
// imports: the browser bundles it). The key data itself is read on the
// server (./parse.ts); what the text alone shows, such as a private key
// pasted by mistake, is refused here so the form says it before sending.
import { z } from 'zod';
import { whyNotPublicKeyText } from './line';

export const KEY_PAIR_NAME_MAX = 63;
export const KEY_PAIRS_PAGE_DEFAULT = 20;
export const KEY_PAIRS_PAGE_MAX = 100;

export const keyPairNameSchema = z
  .string('Give the key pair a name.')
  .trim()
  .min(1, 'Give the key pair a name.')
  .max(KEY_PAIR_NAME_MAX, `Key pair names are at most ${KEY_PAIR_NAME_MAX} characters.`)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'Use letters, digits, spaces, dots, dashes and underscores; start with a letter or digit.');

export const publicKeyTextSchema = z.string('Paste a public key: the one line of its .pub file.').superRefine((text, ctx) => {
  const why = whyNotPublicKeyText(text);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});

export const keyPairIdSchema = z.uuid('Unknown key pair id.');

export const importKeyPairInput = z.object({ name: keyPairNameSchema, publicKey: publicKeyTextSchema });
export type ImportKeyPairInput = z.infer<typeof importKeyPairInput>;

export const generateKeyPairInput = z.object({ name: keyPairNameSchema });
export type GenerateKeyPairInput = z.infer<typeof generateKeyPairInput>;

export const listKeyPairsInput = z.object({
  cursor: z.string().max(200, 'That page link is not valid.').nullish(),
  limit: z.int('Limit is a whole number.').min(1, 'Ask for at least 1 key pair.').max(KEY_PAIRS_PAGE_MAX, `Ask for at most ${KEY_PAIRS_PAGE_MAX} key pairs a page.`).default(KEY_PAIRS_PAGE_DEFAULT),
});
export type ListKeyPairsInput = z.input<typeof listKeyPairsInput>;
