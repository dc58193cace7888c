'use client';

import { useEffect, useId, useRef, useState } from 'react';
import { Button } from '../ui/button';
import { formatKeyType, privateKeyFileName, type GeneratedKeyPair } from './key-pair-rules';

/**
 * The one time a generated private key exists outside the user's machine:
 * download it now. Closing the panel, or leaving the page, drops the only
 * copy (it lives in this component's props and nowhere else).
 */
export function PrivateKeyPanel({ generated, onClose }: { generated: GeneratedKeyPair; onClose: () => void }) {
  const { keyPair, privateKey } = generated;
  const headingId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const [downloaded, setDownloaded] = useState(false);
  const file = privateKeyFileName(keyPair.name);

  // Screen readers and keyboards land on the panel, not on the form that went away.
  useEffect(() => headingRef.current?.focus(), []);

  // Until it is downloaded, closing the tab asks first (the browser's own prompt).
  useEffect(() => {
    if (downloaded) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [downloaded]);

  function download() {
    const url = URL.createObjectURL(new Blob([privateKey], { type: 'application/x-pem-file' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = file;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1_000);
    setDownloaded(true);
  }

  return (
    <section aria-labelledby={headingId} className="space-y-4 rounded-lg border border-amber-300 bg-amber-50 p-4">
      <h3 id={headingId} ref={headingRef} tabIndex={-1} className="text-base font-semibold text-amber-950 focus:outline-none">
        Download the private key now — Cirrus does not keep it
      </h3>
      <p className="text-sm text-amber-950">
        Key pair <strong>{keyPair.name}</strong> was created. Its private key is shown this once: when you close this panel or leave the page it is gone,
        and a lost private key cannot be recovered (generate a new key pair instead).
      </p>
      <div className="flex flex-wrap items-center gap-3">
        <Button onClick={download}>Download {file}</Button>
        {downloaded ? (
          <span role="status" className="text-sm text-emerald-800">
            Downloaded {file}.
          </span>
        ) : null}
      </div>
      <p className="text-sm text-slate-700">
        Keep it where only you can read it, for example <code className="font-mono">chmod 600 ~/.ssh/{file}</code> after moving it to{' '}
        <code className="font-mono">~/.ssh</code>, then connect with <code className="font-mono">ssh -i ~/.ssh/{file} &lt;user&gt;@&lt;address&gt;</code>.
      </p>
      <dl className="space-y-3 text-sm">
        <div>
          <dt className="text-slate-600">Public key ({formatKeyType(keyPair)})</dt>
          <dd>
            <code className="block rounded border border-slate-200 bg-white p-2 font-mono text-xs break-all text-slate-900">{keyPair.publicKey}</code>
          </dd>
        </div>
        <div>
          <dt className="text-slate-600">Fingerprint</dt>
          <dd>
            <code className="font-mono text-xs break-all text-slate-900">{keyPair.fingerprint}</code>
          </dd>
        </div>
      </dl>
      <Button variant="secondary" onClick={onClose}>
        {downloaded ? 'Done' : 'Close without downloading'}
      </Button>
    </section>
  );
}
