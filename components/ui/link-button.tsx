import Link from 'next/link';
import type { ComponentProps } from 'react';

const variants = {
  primary: 'bg-sky-700 text-white hover:bg-sky-800',
  secondary: 'border border-slate-300 bg-white text-slate-800 hover:bg-slate-50',
} as const;

/** A link that looks like a Button: for actions that are a page of their own (Launch instance → the form). */
export function LinkButton({ variant = 'primary', className = '', ...rest }: ComponentProps<typeof Link> & { variant?: keyof typeof variants }) {
  return (
    <Link
      {...rest}
      className={`inline-flex items-center justify-center gap-2 rounded-md px-3 py-2 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2 ${variants[variant]} ${className}`}
    />
  );
}
