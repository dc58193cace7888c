import { useId, type ButtonHTMLAttributes, type Ref } from 'react';

const variants = {
  primary: 'bg-sky-700 text-white hover:bg-sky-800 disabled:bg-sky-700/50',
  secondary: 'border border-slate-300 bg-white text-slate-800 hover:bg-slate-50 disabled:text-slate-400',
  danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-red-700/50',
  ghost: 'text-slate-700 hover:bg-slate-100 disabled:text-slate-400',
} as const;

export type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: keyof typeof variants;
  busy?: boolean;
  /** Why the button is disabled; shown as a tooltip and read by screen readers. */
  disabledReason?: string;
  ref?: Ref<HTMLButtonElement>;
};

export function Button({ variant = 'primary', busy, disabledReason, className = '', disabled, children, ...rest }: ButtonProps) {
  const reasonId = useId();
  const isDisabled = disabled || busy || Boolean(disabledReason);
  const button = (
    <button
      type="button"
      {...rest}
      disabled={isDisabled}
      aria-busy={busy || undefined}
      title={disabledReason ?? rest.title}
      aria-describedby={disabledReason ? reasonId : rest['aria-describedby']}
      className={`inline-flex items-center justify-center gap-2 rounded-md px-3 py-2 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2 disabled:cursor-not-allowed ${variants[variant]} ${className}`}
    >
      {busy ? <span aria-hidden className="size-3 animate-spin rounded-full border-2 border-current border-t-transparent" /> : null}
      {children}
    </button>
  );
  if (!disabledReason) return button;
  // `relative` keeps the visually hidden reason inside scrolling containers (tables on phones).
  return (
    <span className="relative inline-flex">
      {button}
      <span id={reasonId} className="sr-only">
        {disabledReason}
      </span>
    </span>
  );
}
