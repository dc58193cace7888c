import { describe, expect, it } from 'vitest';
import { chartRows, NET_NOT_MEASURED, summaries, type Metrics, type MetricsPoint } from './monitoring-format';

const MiB = 1024 * 1024;
const to = new Date('2030-01-01T12:00:00Z');
const point = (agoS: number, p: Partial<MetricsPoint> = {}): MetricsPoint => ({
  at: new Date(to.getTime() - agoS * 1000),
  cpuPct: 10,
  cpuPctMax: 10,
  memoryTotalBytes: 256 * MiB,
  memoryResidentBytes: 100 * MiB,
  diskReadBps: 0,
  diskWriteBps: 2048,
  netRxBps: 1024,
  netTxBps: 0,
  ...p,
});
const metrics = (points: MetricsPoint[]): Metrics => ({ range: '1h', from: new Date(to.getTime() - 3600_000), to, resolutionSeconds: 10, sampleSeconds: 10, points });

describe('monitoring summaries', () => {
  it('say the latest value now and the peak over the range', () => {
    const s = summaries(metrics([point(30, { cpuPct: 99.4, cpuPctMax: 99.4 }), point(5, { cpuPct: 87.2, cpuPctMax: 87.2 })]), '1h')!;
    expect(s.cpu).toBe('CPU 87 % now, peak 99 % in the last hour.');
    expect(s.memory).toBe('Memory 100 MiB resident of 256 MiB now, peak 100 MiB in the last hour.');
    expect(s.disk).toBe('Disk reads 0 bytes/s and writes 2 KiB/s now; peak reads 0 bytes/s, writes 2 KiB/s in the last hour.');
    expect(s.network).toBe('Network receives 1 KiB/s and sends 0 bytes/s now; peak receives 1 KiB/s, sends 0 bytes/s in the last hour.');
  });

  it('say when the latest sample was when it is not recent, and that user-mode NICs are not measured', () => {
    const s = summaries(metrics([point(600, { netRxBps: null, netTxBps: null })]), '1h')!;
    expect(s.cpu).toMatch(/^CPU 10 % at .+ \(the latest sample\), peak 10 % in the last hour\.$/);
    expect(s.network).toBe(NET_NOT_MEASURED);
    expect(summaries(metrics([]), '1h')).toBeNull();
  });

  it('break the lines where samples stop for a while', () => {
    const rows = chartRows(metrics([point(600), point(590), point(20), point(10)]));
    expect(rows.map((r) => r.cpuPct)).toEqual([10, 10, null, 10, 10]);
    expect(rows[2]!.t).toBe(to.getTime() - 580_000);
  });
});
