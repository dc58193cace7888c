'use client';

import { useEffect, useRef, useState } from 'react';
import { Button, type ButtonProps } from './button';

/** A destructive action that asks once more, inline, before it acts. */
export function ConfirmButton({
  children,
  confirmLabel,
  question,
  onConfirm,
  busy,
  disabledReason,
  ...rest
}: Omit<ButtonProps, 'onClick'> & { confirmLabel: string; question: string; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <Button variant="secondary" {...rest} busy={busy} disabledReason={disabledReason} onClick={() => setAsking(true)}>
        {children}
      </Button>
    );
  }
  return (
    <span role="group" aria-label={question} className="inline-flex flex-wrap items-center gap-2">
      <span className="text-sm text-slate-700">{question}</span>
      <Button
        ref={confirmRef}
        variant="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </Button>
      <Button variant="ghost" onClick={() => setAsking(false)}>
        Cancel
      </Button>
    </span>
  );
}
