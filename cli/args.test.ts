import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseStates, parseTag, wholeNumber } from './args';

describe('--tag key=value', () => {
  it('adds each tag to the ones before it; the value may be empty or hold more =', () => {
    const tags = ['env=prod', 'team=', 'query=a=b'].reduce((acc, t) => parseTag(t, acc), {} as Record<string, string>);
    expect(tags).toEqual({ env: 'prod', team: '', query: 'a=b' });
  });

  it('refuses a tag without =, without a key, or given twice, in one sentence', () => {
    expect(() => parseTag('env')).toThrow(new InvalidArgumentError('A tag is key=value (got “env”).'));
    expect(() => parseTag('=prod')).toThrow('A tag needs a key before the = (got “=prod”).');
    expect(() => parseTag('env=b', { env: 'a' })).toThrow('The tag env is given twice.');
  });

  it('does not change the tags it was given', () => {
    const before = { a: '1' };
    parseTag('b=2', before);
    expect(before).toEqual({ a: '1' });
  });
});

describe('whole numbers', () => {
  const vcpus = wholeNumber('--vcpus');
  it('takes digits only', () => {
    expect(vcpus('4')).toBe(4);
    expect(vcpus(' 12 ')).toBe(12);
    for (const bad of ['1.5', '-1', '2x', '', '1e3', '0x10']) expect(() => vcpus(bad)).toThrow(InvalidArgumentError);
    expect(() => vcpus('two')).toThrow('--vcpus is a whole number (got “two”).');
  });

  it('has a floor', () => {
    expect(() => vcpus('0')).toThrow('--vcpus is at least 1 (got 0).');
    expect(wholeNumber('--interval', 0)('0')).toBe(0);
    expect(() => vcpus('99999999999999999999')).toThrow(InvalidArgumentError);
  });
});

describe('--state', () => {
  it('takes comma-separated and repeated states, once each, in any case', () => {
    expect(parseStates('running,Stopped', parseStates('stopped'))).toEqual(['stopped', 'running']);
  });

  it('names the states when one is not', () => {
    expect(() => parseStates('runing')).toThrow(/“runing” is not an instance state; choose from pending, starting, running, .*terminated, error\./);
  });
});
