import { KEY_PAIR_NAME_MAX } from '@/server/keys/validation';
import { TextField } from '../ui/field';

/** The name of a key pair, as both the import and the generate form ask for it. */
export function KeyPairNameField({ value, onChange, error, placeholder }: { value: string; onChange: (name: string) => void; error?: string; placeholder: string }) {
  return (
    <div className="max-w-sm">
      <TextField
        label="Key pair name"
        name="name"
        value={value}
        autoComplete="off"
        maxLength={KEY_PAIR_NAME_MAX}
        required
        placeholder={placeholder}
        error={error}
        onChange={(e) => onChange(e.target.value)}
      />
    </div>
  );
}
