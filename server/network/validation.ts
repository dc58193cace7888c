// Inputs of the network procedures, shared by tRPC and the forms (no server imports).
import { z } from 'zod';
import { parseCidr } from './cidr';
import { whyNotTenantCidr } from './cidr';

export const RATE_LIMITS = { min: 1, max: 10_000 } as const;
export const DEFAULT_RATE_MBIT = 100;

export const rateSchema = z
  .number({ error: 'Enter a whole number of Mbit/s.' })
  .int('Enter a whole number of Mbit/s.')
  .min(RATE_LIMITS.min, `A rate is at least ${RATE_LIMITS.min} Mbit/s.`)
  .max(RATE_LIMITS.max, `A rate is at most ${RATE_LIMITS.max.toLocaleString('en')} Mbit/s.`);

export const networkNameSchema = z
  .string()
  .trim()
  .min(1, 'Give the network a name.')
  .max(40, 'Network names are at most 40 characters.')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'Use letters, digits, dots, dashes and underscores; start with a letter or digit.');

/** A tenant network's range: an IPv4 CIDR, private, /16 to /28, no host bits. */
export const cidrSchema = z
  .string()
  .trim()
  .superRefine((text, ctx) => {
    try {
      const why = whyNotTenantCidr(parseCidr(text));
      if (why) ctx.addIssue({ code: 'custom', message: why });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

export const networkIdSchema = z.uuid('Unknown network id.');

export const createNetworkInput = z.object({
  name: networkNameSchema,
  /** Omitted: Cirrus proposes the first free /24. */
  cidr: cidrSchema.optional(),
});
export type CreateNetworkInput = z.infer<typeof createNetworkInput>;

/** One NIC of a launch: its network (the tenant's default when omitted) and rate (100 Mbit/s when omitted). */
export const launchInterfaceSchema = z.object({
  networkId: networkIdSchema.optional(),
  rateMbit: rateSchema.optional(),
});
export type LaunchInterface = z.infer<typeof launchInterfaceSchema>;

export const portSchema = (label: string) =>
  z
    .number({ error: `Enter a whole ${label} number.` })
    .int(`Enter a whole ${label} number.`)
    .min(1, `A ${label} is between 1 and 65535.`)
    .max(65_535, `A ${label} is between 1 and 65535.`);

export const createPortForwardInput = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]{17}$/, 'Unknown instance id.'),
  guestPort: portSchema('guest port'),
  /** Omitted: the first free port of the admin's range. */
  hostPort: portSchema('host port').optional(),
  /** Which NIC (its id); the instance's first when omitted. */
  interfaceId: z.uuid('Unknown network interface.').optional(),
});
export type CreatePortForwardInput = z.infer<typeof createPortForwardInput>;
