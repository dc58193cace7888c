// The EC2 Query protocol flattens a request into form fields:
// `Filter.1.Name=tag:env&Filter.1.Value.1=prod&InstanceId.1=i-…`. This reads
// them back, bounded, with a clear InvalidParameterValue for what does not fit.
import { Ec2Error } from './errors';

const MAX_FIELDS = 2_000;
const MAX_INDEX = 1_000;

export class Params {
  private constructor(private readonly map: Map<string, string>) {}

  static from(search: URLSearchParams): Params {
    const map = new Map<string, string>();
    for (const [k, v] of search) {
      if (map.size >= MAX_FIELDS) throw new Ec2Error('InvalidParameterValue', `A request has at most ${MAX_FIELDS} parameters.`);
      map.set(k, v);
    }
    return new Params(map);
  }

  string(name: string): string | undefined {
    return this.map.get(name);
  }

  required(name: string): string {
    const v = this.map.get(name);
    if (v === undefined || v === '') throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}.`);
    return v;
  }

  int(name: string, { min, max }: { min: number; max: number }): number | undefined {
    const v = this.map.get(name);
    if (v === undefined) return undefined;
    if (!/^-?\d{1,10}$/.test(v) || +v < min || +v > max) {
      throw new Ec2Error('InvalidParameterValue', `${name} must be a whole number from ${min} to ${max}; got "${v.slice(0, 40)}".`);
    }
    return +v;
  }

  bool(name: string): boolean | undefined {
    const v = this.map.get(name);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw new Ec2Error('InvalidParameterValue', `${name} must be true or false.`);
    return v === 'true';
  }

  /** `Name.1`, `Name.2`, …, in index order. */
  list(name: string): string[] {
    return this.indexed(name, (prefix) => this.map.get(prefix)).filter((v): v is string => v !== undefined);
  }

  /** `Name.N.*` groups as sub-parameter sets, in index order. */
  structs(name: string): Params[] {
    return this.indexed(name, (prefix) => {
      const sub = new Map<string, string>();
      for (const [k, v] of this.map) if (k.startsWith(`${prefix}.`)) sub.set(k.slice(prefix.length + 1), v);
      return new Params(sub);
    });
  }

  /** `Name.*` as a sub-parameter set (e.g. `CpuOptions.CoreCount`). */
  struct(name: string): Params {
    const sub = new Map<string, string>();
    for (const [k, v] of this.map) if (k.startsWith(`${name}.`)) sub.set(k.slice(name.length + 1), v);
    return new Params(sub);
  }

  get empty(): boolean {
    return this.map.size === 0;
  }

  private indexed<T>(name: string, read: (prefix: string) => T): T[] {
    const indexes = new Set<number>();
    const re = new RegExp(`^${name.replace(/[.]/g, '\\.')}\\.(\\d+)(?:\\.|$)`);
    for (const k of this.map.keys()) {
      const m = re.exec(k);
      if (!m) continue;
      const n = Number(m[1]);
      if (n < 1 || n > MAX_INDEX) throw new Ec2Error('InvalidParameterValue', `${name}.N takes N from 1 to ${MAX_INDEX}.`);
      indexes.add(n);
    }
    return [...indexes].sort((a, b) => a - b).map((n) => read(`${name}.${n}`));
  }
}

/** EC2's `Filter.N.Name` / `Filter.N.Value.M`, checked against the names an action knows. */
export type Filter = { name: string; values: string[] };

export function filters(p: Params, known: (name: string) => boolean): Filter[] {
  return p.structs('Filter').map((f) => {
    const name = f.required('Name');
    if (!known(name)) throw new Ec2Error('InvalidParameterValue', `The filter '${name.slice(0, 80)}' is invalid.`);
    const values = f.list('Value');
    if (values.length === 0) throw new Ec2Error('InvalidParameterValue', `The filter '${name.slice(0, 80)}' needs at least one Value.`);
    return { name, values };
  });
}

/** A page: MaxResults (5–1000, as EC2 has it) and an opaque NextToken. */
export function page(p: Params, { max = 1000, fallback = 1000 }: { max?: number; fallback?: number } = {}) {
  const size = p.int('MaxResults', { min: 5, max }) ?? fallback;
  const token = p.string('NextToken');
  return { size, after: token ? decodeToken(token) : null };
}

export const encodeToken = (cursor: string) => Buffer.from(cursor, 'utf8').toString('base64url');

function decodeToken(token: string): string {
  const cursor = /^[A-Za-z0-9_-]{1,400}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!cursor) throw new Ec2Error('InvalidParameterValue', 'The NextToken is not one this endpoint gave; start from the first page.');
  return cursor;
}
