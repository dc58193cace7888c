'use client';

import { useId, useState } from 'react';
import { Button } from '../ui/button';
import { MAX_PASTE_CHARS } from './keys';

/** A text box whose text is typed into the console, for what is too long or awkward to type by hand. */
export function PasteText({ onPaste, disabledReason }: { onPaste: (text: string) => Promise<boolean>; disabledReason?: string }) {
  const id = useId();
  const [text, setText] = useState('');
  const [note, setNote] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const [typing, setTyping] = useState(false);
  const tooLong = text.length > MAX_PASTE_CHARS;
  return (
    <form
      className="space-y-2 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
      aria-label="Paste text"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        if (typing) return;
        if (!text) return setNote({ tone: 'error', text: 'Enter the text to type first.' });
        if (tooLong) return setNote({ tone: 'error', text: `At most ${MAX_PASTE_CHARS.toLocaleString()} characters can be typed at once.` });
        setNote(null);
        setTyping(true);
        const done = await onPaste(text);
        setTyping(false);
        setNote(
          done
            ? { tone: 'ok', text: `Typed ${text.length.toLocaleString()} character${text.length === 1 ? '' : 's'} into the console.` }
            : { tone: 'error', text: 'The console disconnected before all of the text was typed.' },
        );
      }}
    >
      <label htmlFor="console-paste" className="block text-sm font-medium text-slate-800">
        Text to paste
      </label>
      <textarea
        id="console-paste"
        value={text}
        rows={3}
        aria-describedby={`${id}-hint`}
        aria-invalid={tooLong || undefined}
        onChange={(e) => {
          setText(e.target.value);
          setNote(null);
        }}
        className={`block w-full rounded-md border px-3 py-2 font-mono text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 ${
          tooLong ? 'border-red-600' : 'border-slate-300'
        }`}
      />
      <p id={`${id}-hint`} className="text-xs text-slate-500">
        Typed into the guest key by key, as on a US keyboard (about 60 characters a second); each line ends with Enter.
      </p>
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" variant="secondary" busy={typing} disabledReason={disabledReason}>
          Paste text
        </Button>
        {note ? (
          <p role={note.tone === 'error' ? 'alert' : 'status'} className={`text-sm ${note.tone === 'error' ? 'text-red-700' : 'text-emerald-800'}`}>
            {note.text}
          </p>
        ) : null}
      </div>
    </form>
  );
}
