'use client';

import { useEffect, useId, useRef, useState } from 'react';
import type { RouterOutputs } from '@/server/trpc/root';
import { Button } from '../ui/button';

export type NewAccessKey = RouterOutputs['accessKeys']['create'];

/** The region the EC2-compatible API answers for; any AWS SDK or CLI needs one. */
export const EC2_REGION = 'cirrus-1';

/** Shell lines that run the AWS CLI against this Cirrus with the new key. */
export function awsCliSnippet(key: Pick<NewAccessKey, 'accessKeyId' | 'secret'>, origin: string): string {
  return [
    `export AWS_ACCESS_KEY_ID=${key.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY='${key.secret}'`,
    `aws ec2 describe-instances --endpoint-url ${origin}/api/ec2 --region ${EC2_REGION}`,
  ].join('\n');
}

/** Copies `text`, and says so (or says why not: the clipboard needs HTTPS or localhost). */
function CopyButton({ text, what }: { text: string; what: string }) {
  const [said, setSaid] = useState<string | null>(null);
  async function copy() {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      setSaid('Copied');
    } catch {
      setSaid('Copy failed: select the text and copy it yourself');
    }
  }
  return (
    <span className="inline-flex items-center gap-2">
      <Button variant="secondary" className="px-2 py-1 text-xs" aria-label={`Copy ${what}`} onClick={() => void copy()}>
        Copy
      </Button>
      <span role="status" className="text-xs text-slate-600">
        {said}
      </span>
    </span>
  );
}

/** A labelled, read-only value the keyboard can reach and select. */
function SecretValue({ label, value }: { label: string; value: string }) {
  const id = useId();
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <div className="flex flex-wrap items-center gap-2">
        <input
          id={id}
          readOnly
          value={value}
          size={value.length}
          spellCheck={false}
          autoComplete="off"
          onFocus={(e) => e.currentTarget.select()}
          className="max-w-full rounded-md border border-slate-300 bg-white px-2 py-1 font-mono text-xs text-slate-900 focus:outline-none focus:ring-2 focus:ring-sky-500"
        />
        <CopyButton text={value} what={label.toLowerCase()} />
      </div>
    </div>
  );
}

/**
 * The one time a key's secret is on screen. It lives in the creating form's
 * state only: Done, a reload or leaving the page drops it, and the server
 * keeps no readable copy for the UI to ask for again.
 */
export function NewAccessKeyPanel({ created, onDone }: { created: NewAccessKey; onDone: () => void }) {
  const headingId = useId();
  const snippetId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Keyboards and screen readers land on the panel, not on the form that went away.
  useEffect(() => headingRef.current?.focus(), []);
  const snippet = awsCliSnippet(created, window.location.origin);

  return (
    <section aria-labelledby={headingId} className="space-y-4 rounded-lg border border-amber-300 bg-amber-50 p-4">
      <h3 id={headingId} ref={headingRef} tabIndex={-1} className="text-base font-semibold text-amber-950 focus:outline-none">
        Access key “{created.name}” created: copy its secret now
      </h3>
      <p className="text-sm text-amber-950">
        <strong>The secret access key is shown this once.</strong> Cirrus cannot show it again: if you lose it, revoke this key and create a new one.
      </p>
      <SecretValue label="Access key ID" value={created.accessKeyId} />
      <SecretValue label="Secret access key" value={created.secret} />
      <figure aria-labelledby={snippetId} className="space-y-1">
        <figcaption className="flex flex-wrap items-center gap-2">
          <span id={snippetId} className="text-sm font-medium text-slate-800">
            Try it with the AWS CLI
          </span>
          <CopyButton text={snippet} what="AWS CLI commands" />
        </figcaption>
        <pre
          tabIndex={0}
          className="overflow-x-auto rounded-md border border-slate-200 bg-white p-3 font-mono text-xs text-slate-900 focus:outline-none focus:ring-2 focus:ring-sky-500"
        >
          {snippet}
        </pre>
        <p className="text-xs text-slate-600">Requests signed with this key act as you in this tenant, with the role you have here when they arrive.</p>
      </figure>
      <Button onClick={onDone}>Done</Button>
    </section>
  );
}
