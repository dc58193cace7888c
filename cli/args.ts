// Parsers for option values (commander calls them; an InvalidArgumentError
// becomes one sentence and exit code 2). The server validates again: these
// only catch what is plainly not the right kind of value.
import { InvalidArgumentError } from 'commander';
import { instanceStates, type InstanceState } from '../server/instances/can';

export type Tags = Record<string, string>;

/** `--tag key=value`, repeatable: each adds to the tags before it; the value may be empty, the key may not. */
export function parseTag(text: string, previous: Tags = {}): Tags {
  const at = text.indexOf('=');
  if (at < 0) throw new InvalidArgumentError(`A tag is key=value (got “${text}”).`);
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 1);
  if (!key) throw new InvalidArgumentError(`A tag needs a key before the = (got “${text}”).`);
  if (Object.hasOwn(previous, key)) throw new InvalidArgumentError(`The tag ${key} is given twice.`);
  return { ...previous, [key]: value };
}

/** A whole number of at least `min` (vCPUs, MiB, GiB, NICs, seconds). */
export function wholeNumber(label: string, min = 1) {
  return (text: string): number => {
    if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`${label} is a whole number (got “${text}”).`);
    const n = Number(text.trim());
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${label} is at least ${min} (got ${text}).`);
    return n;
  };
}

/** `--state running,stopped`, repeatable. */
export function parseStates(text: string, previous: InstanceState[] = []): InstanceState[] {
  const out = [...previous];
  for (const word of text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (!(instanceStates as readonly string[]).includes(word)) {
      throw new InvalidArgumentError(`“${word}” is not an instance state; choose from ${instanceStates.join(', ')}.`);
    }
    if (!out.includes(word as InstanceState)) out.push(word as InstanceState);
  }
  return out;
}

export const INSTANCE_ID = /^i-[0-9a-f]{17}$/;
