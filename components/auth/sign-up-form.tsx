'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { signIn } from 'next-auth/react';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { PASSWORD_MIN, signUpInput } from '@/server/accounts/validation';
import { describeError, useTRPC } from '../trpc/client';
import { Button } from '../ui/button';
import { FormAlert, TextField } from '../ui/field';

type Errors = Record<string, string[]>;

export function SignUpForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const status = useQuery(trpc.auth.signUpStatus.queryOptions());
  const [fieldErrors, setFieldErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [signingIn, setSigningIn] = useState(false);

  const signUp = useMutation(
    trpc.auth.signUp.mutationOptions({
      onError: (err) => {
        const { message, fieldErrors } = describeError(err);
        setFieldErrors(fieldErrors);
        setFormError(Object.keys(fieldErrors).length ? null : message);
      },
    }),
  );

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const raw = { name: String(form.get('name') ?? ''), email: String(form.get('email') ?? ''), password: String(form.get('password') ?? '') };
    // The same rules the server applies, checked here first for a quicker answer.
    const parsed = signUpInput.safeParse(raw);
    if (!parsed.success) {
      const errs: Errors = {};
      for (const issue of parsed.error.issues) (errs[String(issue.path[0])] ??= []).push(issue.message);
      setFieldErrors(errs);
      setFormError(null);
      return;
    }
    setFieldErrors({});
    setFormError(null);
    const result = await signUp.mutateAsync(parsed.data).catch(() => null);
    if (!result) return;
    setSigningIn(true);
    const signedIn = await signIn('credentials', { email: parsed.data.email, password: raw.password, redirect: false });
    if (!signedIn?.ok) {
      setSigningIn(false);
      setFormError('Your account was created, but signing in failed. Sign in from the sign-in page.');
      return;
    }
    router.push(`/t/${result.tenant.slug}/instances`);
    router.refresh();
  }

  if (status.data && !status.data.enabled) {
    return (
      <div className="space-y-4">
        <FormAlert message="Sign-up is turned off on this Cirrus. Ask an administrator to create an account for you." />
        <p className="text-center text-sm">
          <Link href="/signin" className="font-medium text-sky-700 underline">
            Back to sign in
          </Link>
        </p>
      </div>
    );
  }

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" aria-label="Create your account">
      <FormAlert message={formError} />
      <TextField label="Name" name="name" autoComplete="name" required error={fieldErrors.name} autoFocus />
      <TextField label="E-mail" name="email" type="email" autoComplete="email" required error={fieldErrors.email} />
      <TextField
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        minLength={PASSWORD_MIN}
        hint={`At least ${PASSWORD_MIN} characters.`}
        error={fieldErrors.password}
      />
      <Button type="submit" busy={signUp.isPending || signingIn} className="w-full">
        Create account
      </Button>
      <p className="text-center text-sm text-slate-600">
        Already have an account?{' '}
        <Link href="/signin" className="font-medium text-sky-700 underline">
          Sign in
        </Link>
      </p>
    </form>
  );
}
