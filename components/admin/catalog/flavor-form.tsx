'use client';

import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { flavorSpecSchema, LIMITS } from '@/server/instances/validation';
import type { RouterOutputs } from '@/server/trpc/root';
import { useTRPC } from '../../trpc/client';
import { Button } from '../../ui/button';
import { FormAlert, TextField } from '../../ui/field';
import { SizeNumberFields, sizeFromFlavor, toNumber } from '../../instances/size-fields';
import { useFieldErrors } from '../../ui/field-errors';

type Flavor = RouterOutputs['admin']['flavors']['list'][number];
type Key = 'name' | keyof typeof LIMITS;
type Draft = Record<Key, string>;
type Errors = Partial<Record<Key, string>>;

const KEYS: Key[] = ['name', 'vcpus', 'memoryMiB', 'diskGiB', 'nics'];

const draftOf = (f?: Flavor): Draft =>
  f ? { name: f.name, ...sizeFromFlavor(f) } : { name: '', ...sizeFromFlavor({ vcpus: 1, memoryMiB: 256, diskGiB: 1, nics: 1 }) };

/**
 * Create a flavor, or edit one when `flavor` is given. Refusals show beside
 * their field (a taken name beside Name); `onDone` gets the sentence to announce.
 */
export function FlavorForm({
  flavor,
  onDone,
  onCancel,
}: {
  flavor?: Flavor;
  onDone: (message: string) => Promise<void> | void;
  onCancel?: () => void;
}) {
  const trpc = useTRPC();
  const create = useMutation(trpc.admin.flavors.create.mutationOptions());
  const update = useMutation(trpc.admin.flavors.update.mutationOptions());
  const [draft, setDraft] = useState<Draft>(() => draftOf(flavor));
  const { errors, setErrors, clear, fromServer } = useFieldErrors(KEYS);
  const [formError, setFormError] = useState<string | null>(null);
  const pending = create.isPending || update.isPending;
  const label = flavor ? `Edit flavor ${flavor.name}` : 'New flavor';

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setFormError(null);
    // The server's own rules (the launch bounds, the name's shape); it alone can say a name is taken.
    const parsed = flavorSpecSchema.safeParse({
      name: draft.name,
      vcpus: toNumber(draft.vcpus),
      memoryMiB: toNumber(draft.memoryMiB),
      diskGiB: toNumber(draft.diskGiB),
      nics: toNumber(draft.nics),
    });
    if (!parsed.success) {
      const errs: Errors = {};
      for (const issue of parsed.error.issues) errs[issue.path[0] as Key] ??= issue.message;
      setErrors(errs);
      return;
    }
    setErrors({});
    const spec = parsed.data;
    try {
      if (flavor) {
        // Only what changed, so the audit log says what the admin did.
        const changes: Partial<typeof spec> = {};
        for (const k of KEYS) if (spec[k] !== flavor[k]) Object.assign(changes, { [k]: spec[k] });
        if (Object.keys(changes).length === 0) {
          await onDone(`Nothing changed in flavor ${flavor.name}.`);
          return;
        }
        const saved = await update.mutateAsync({ flavorId: flavor.id, ...changes });
        await onDone(`Flavor ${saved.name} was saved. Instances launched with it keep their size.`);
      } else {
        const saved = await create.mutateAsync(spec);
        setDraft(draftOf());
        await onDone(`Flavor ${saved.name} was created; the launch form offers it now.`);
      }
    } catch (err) {
      const { message, onField } = fromServer(err);
      // Said beside a field already; anything else goes above the form.
      if (!onField) setFormError(message);
    }
  }

  const edit = (key: Key, value: string) => {
    clear(key);
    setDraft((d) => ({ ...d, [key]: value }));
  };

  return (
    <form onSubmit={onSubmit} noValidate aria-label={label} className="space-y-4">
      <FormAlert message={formError} />
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
        <TextField
          label="Name"
          name="name"
          autoComplete="off"
          value={draft.name}
          onChange={(e) => edit('name', e.target.value)}
          error={errors.name}
          hint="Letters, digits, . _ -; at most 40."
        />
        <SizeNumberFields size={draft} errors={errors} onChange={edit} />
      </div>
      <div className="flex flex-wrap gap-2">
        <Button type="submit" busy={pending}>
          {flavor ? 'Save flavor' : 'Create flavor'}
        </Button>
        {onCancel ? (
          <Button variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        ) : null}
      </div>
    </form>
  );
}
