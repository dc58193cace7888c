'use client';

import { useState } from 'react';
import { describeError } from '../trpc/client';

/**
 * A form's per-field messages: set from its own checks, cleared as a field is
 * edited, and taken from a server refusal for the fields the form has.
 */
export function useFieldErrors<K extends string>(keys: readonly K[]) {
  const [errors, setErrors] = useState<Partial<Record<K, string>>>({});
  return {
    errors,
    setErrors,
    clear: (key: K) => setErrors((e) => (e[key] ? { ...e, [key]: undefined } : e)),
    /** Put a failed parse's first message per field beside this form's fields (those it has). */
    fromIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): void {
      const errs: Partial<Record<K, string>> = {};
      for (const issue of issues) {
        const key = issue.path[0] as K;
        if (keys.includes(key) && !errs[key]) errs[key] = issue.message;
      }
      setErrors(errs);
    },
    /**
     * Put a refusal's messages beside this form's fields (a field may also be
     * named `<prefix>.<key>` by a nested input). Returns the refusal's sentence
     * and whether any field took a message.
     */
    fromServer(err: unknown, prefix?: string): { message: string; onField: boolean } {
      const { message, fieldErrors } = describeError(err);
      const known: Partial<Record<K, string>> = {};
      for (const k of keys) {
        const m = fieldErrors[k]?.[0] ?? (prefix ? fieldErrors[`${prefix}.${k}`]?.[0] : undefined);
        if (m) known[k] = m;
      }
      setErrors(known);
      return { message, onField: Object.keys(known).length > 0 };
    },
  };
}
