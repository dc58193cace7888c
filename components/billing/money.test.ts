import { describe, expect, it } from 'vitest';
import { formatMoney, invoiceCsvHref, ledgerPeriod, microToDecimal, parseMoney, resourceInfo } from './money';

describe('parseMoney', () => {
  it('turns decimal text into exact integer micro-units', () => {
    expect(parseMoney('12.5', 'an amount')).toEqual({ micro: 12_500_000 });
    expect(parseMoney(' 0.000001 ', 'an amount')).toEqual({ micro: 1 });
    expect(parseMoney('0.010400', 'an amount')).toEqual({ micro: 10_400 });
    expect(parseMoney('1,000', 'an amount')).toEqual({ micro: 1_000_000_000 });
    expect(parseMoney('7.', 'an amount')).toEqual({ micro: 7_000_000 });
    // 0.29 × 1e6 is 289999.99999999994 in floating point; the string path is exact.
    expect(parseMoney('0.29', 'an amount')).toEqual({ micro: 290_000 });
  });

  it('explains what is wrong', () => {
    expect(parseMoney('', 'a monthly amount')).toEqual({ error: 'Enter a monthly amount.' });
    expect(parseMoney('-1', 'the vCPU price')).toEqual({ error: 'The vCPU price must be a positive number, like 12.50.' });
    expect(parseMoney('abc', 'the vCPU price')).toHaveProperty('error');
    expect(parseMoney('0.1234567', 'the vCPU price')).toEqual({ error: 'The vCPU price can have at most 6 decimals (one micro-unit).' });
    expect(parseMoney('99999999999999', 'an amount')).toEqual({ error: 'An amount is too large.' });
  });
});

describe('microToDecimal', () => {
  it('writes six decimals, the inverse of parseMoney', () => {
    expect(microToDecimal(10_400)).toBe('0.010400');
    expect(microToDecimal(25_000_000)).toBe('25.000000');
    for (const m of [0, 1, 137, 999_999, 1_000_001, 123_456_789]) expect(parseMoney(microToDecimal(m), 'x')).toEqual({ micro: m });
  });
});

describe('formatMoney', () => {
  it('shows fractions of a cent honestly and at least two decimals', () => {
    expect(formatMoney(201, 'USD')).toMatch(/0\.000201/);
    expect(formatMoney(12_500_000, 'USD')).toMatch(/12\.50/);
  });
});

describe('ledgerPeriod', () => {
  it('covers whole UTC days, the last one included', () => {
    expect(ledgerPeriod('2026-11-23', '2026-11-23')).toEqual({ from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-24T00:00:00Z') });
    expect(ledgerPeriod('2026-11-30', '2026-12-01')).toEqual({ from: new Date('2026-11-30T00:00:00Z'), to: new Date('2026-12-02T00:00:00Z') });
  });
  it('refuses backwards, empty and too long periods', () => {
    expect(ledgerPeriod('2026-11-20', '2026-11-19')).toEqual({ error: 'The last day cannot be before the first.' });
    expect(ledgerPeriod('', '2026-11-19')).toEqual({ error: 'Pick both days.' });
    expect(ledgerPeriod('2025-01-01', '2026-11-19')).toEqual({ error: 'Ask for at most 400 days at a time.' });
  });
});

describe('links and labels', () => {
  it('builds the invoice CSV link', () => {
    expect(invoiceCsvHref('t-1', '2026-11')).toBe('/api/billing/invoice-csv?tenantId=t-1&month=2026-11');
  });
  it('names known resources and passes unknown ones through', () => {
    expect(resourceInfo('memory_mib').name).toBe('Memory');
    expect(resourceInfo('gpu').name).toBe('gpu');
  });
});
