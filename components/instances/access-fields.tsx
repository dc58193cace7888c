'use client';

import Link from 'next/link';
import { useId, type ChangeEvent } from 'react';
import { MAX_USER_DATA_BYTES } from '@/server/instances/validation';
import { formatKeyType, type KeyPair } from '../key-pairs/key-pair-rules';
import { SelectField, TextAreaField } from '../ui/field';
import { formatBytes } from '../ui/format-bytes';

export interface AccessDraft {
  keyPairId: string;
  userData: string;
}

export type KeyPairOption = Pick<KeyPair, 'id' | 'name' | 'keyType' | 'bits' | 'fingerprint'>;

const byteLength = (text: string) => new TextEncoder().encode(text).length;

/**
 * How the tenant gets in: a key pair for the image's login user and user data
 * for cloud-init. For an image without cloud-init the fields are disabled and
 * say why (the API refuses them too).
 */
export function AccessFields({
  draft,
  onChange,
  keyPairs,
  loading,
  tenantSlug,
  loginUser,
  cloudInit,
  imageName,
  errors,
  onFileError,
}: {
  draft: AccessDraft;
  onChange: (next: Partial<AccessDraft>) => void;
  keyPairs: KeyPairOption[];
  loading: boolean;
  tenantSlug: string;
  loginUser: string | null;
  cloudInit: boolean;
  imageName: string | null;
  errors: Record<string, string[] | undefined>;
  onFileError: (message: string) => void;
}) {
  const fileId = useId();
  const disabled = !cloudInit;
  const used = byteLength(draft.userData);

  async function loadFile(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    if (file.size > MAX_USER_DATA_BYTES) return onFileError(`${file.name} is ${formatBytes(file.size)}; user data must be at most ${MAX_USER_DATA_BYTES / 1024} KiB.`);
    try {
      // fatal: a file that is not UTF-8 is refused here rather than mangled.
      onChange({ userData: new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer()) });
    } catch {
      onFileError(`${file.name} is not UTF-8 text. User data is a cloud-config or a script.`);
    }
  }

  if (disabled) {
    return (
      <p className="text-sm text-slate-600">
        {imageName ?? 'This image'} does not run cloud-init: it takes no key pair or user data. Choose an image that does (such as Debian) to log in over SSH.
      </p>
    );
  }
  return (
    <div className="space-y-4">
      <SelectField
        label="Key pair"
        name="keyPairId"
        value={draft.keyPairId}
        onChange={(e) => onChange({ keyPairId: e.target.value })}
        options={[{ value: '', label: 'No key pair (console login only)' }, ...keyPairs.map((k) => ({ value: k.id, label: `${k.name} · ${formatKeyType(k)} · ${k.fingerprint.slice(0, 20)}…` }))]}
        error={errors.keyPairId}
        hint={
          loading ? (
            'Loading key pairs…'
          ) : (
            <>
              {loginUser ? `Its public key is installed for the user ${loginUser}. ` : ''}
              <Link className="text-sky-700 underline" href={`/t/${tenantSlug}/key-pairs`}>
                Import or generate key pairs
              </Link>
              .
            </>
          )
        }
      />
      <TextAreaField
        label="User data (optional)"
        name="userData"
        value={draft.userData}
        onChange={(e) => onChange({ userData: e.target.value })}
        rows={6}
        spellCheck={false}
        className="font-mono"
        placeholder={'#cloud-config\npackages: [nginx]\n\nor a script starting with #!/bin/sh'}
        error={errors.userData}
        hint={`A cloud-config or a script that cloud-init runs on first boot. ${formatBytes(used)} of ${MAX_USER_DATA_BYTES / 1024} KiB.`}
      />
      <div className="text-sm">
        <label htmlFor={fileId} className="text-slate-700">
          Or load it from a file:{' '}
        </label>
        <input id={fileId} type="file" accept=".yaml,.yml,.sh,.txt,text/*" onChange={(e) => void loadFile(e)} className="text-sm" />
      </div>
    </div>
  );
}
