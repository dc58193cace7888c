import { useId, type InputHTMLAttributes, type ReactNode, type Ref, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';

type FieldShell = { label: string; error?: string | string[]; hint?: ReactNode };

function errorText(error: FieldShell['error']) {
  return Array.isArray(error) ? error[0] : error;
}

const controlClass = (invalid: boolean) =>
  `block w-full rounded-md border px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 ${
    invalid ? 'border-red-600' : 'border-slate-300'
  }`;

/**
 * The frame every field shares: label, hint and error, with the control's
 * aria attributes wired to them for screen readers.
 */
function Field({
  label,
  error,
  hint,
  children,
}: FieldShell & { children: (a: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string; className: string }) => ReactNode }) {
  const id = useId();
  const message = errorText(error);
  const describedBy = [hint ? `${id}-hint` : '', message ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      {children({ id, 'aria-invalid': message ? true : undefined, 'aria-describedby': describedBy, className: controlClass(Boolean(message)) })}
      {hint ? (
        <p id={`${id}-hint`} className="text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
      {message ? (
        <p id={`${id}-error`} className="text-sm text-red-700">
          {message}
        </p>
      ) : null}
    </div>
  );
}

/** A labelled text input with its hint and error wired up for screen readers. */
export function TextField({ label, error, hint, ...input }: FieldShell & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <Field label={label} error={error} hint={hint}>
      {(wiring) => <input {...input} {...wiring} />}
    </Field>
  );
}

/** A labelled multi-line text box, wired like TextField. */
export function TextAreaField({
  label,
  error,
  hint,
  className = '',
  ref,
  ...area
}: FieldShell & TextareaHTMLAttributes<HTMLTextAreaElement> & { ref?: Ref<HTMLTextAreaElement> }) {
  return (
    <Field label={label} error={error} hint={hint}>
      {(wiring) => <textarea {...area} {...wiring} ref={ref} className={`${wiring.className} ${className}`} />}
    </Field>
  );
}

export function SelectField({
  label,
  error,
  hint,
  options,
  ...select
}: FieldShell & SelectHTMLAttributes<HTMLSelectElement> & { options: { value: string; label: string }[] }) {
  return (
    <Field label={label} error={error} hint={hint}>
      {(wiring) => (
        <select {...select} {...wiring}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A form-level message (refusals that belong to no single field). */
export function FormAlert({ message, tone = 'error' }: { message?: string | null; tone?: 'error' | 'success' }) {
  if (!message) return null;
  return (
    <div
      role={tone === 'error' ? 'alert' : 'status'}
      className={`rounded-md border px-3 py-2 text-sm ${
        tone === 'error' ? 'border-red-200 bg-red-50 text-red-800' : 'border-emerald-200 bg-emerald-50 text-emerald-800'
      }`}
    >
      {message}
    </div>
  );
}
