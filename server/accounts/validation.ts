import { z } from 'zod';

// Shared by the tRPC inputs and the forms, so the browser shows the same rule the server applies.
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'E-mail address is too long.')
  .pipe(z.email('Enter a valid e-mail address, like name@example.com.'));

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `Password must be at least ${PASSWORD_MIN} characters.`)
  .max(PASSWORD_MAX, `Password must be at most ${PASSWORD_MAX} characters.`);

export const personNameSchema = z
  .string()
  .trim()
  .min(1, 'Enter your name.')
  .max(100, 'Name must be at most 100 characters.');

export const signUpInput = z.object({ email: emailSchema, password: passwordSchema, name: personNameSchema });
export type SignUpInput = z.infer<typeof signUpInput>;
