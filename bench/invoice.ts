// Monthly invoice for one tenant over 1,000,000 generated ledger segments
// (real PostgreSQL; segments spread over the month, three price versions).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { chargeLines, dailyCharges } from '../server/billing/charges';
import { createDb } from '../server/db/client';
import { startEmbeddedPostgres } from '../server/db/embedded';
import { runMigrations } from '../server/db/migrate';
import { setUpCompute } from '../server/test/compute';
import { makeTenant, makeUser } from '../server/test/factories';
import { median, type BenchModule } from './types';

const SEGMENTS = Number(process.env.BENCH_SEGMENTS ?? 1_000_000);

const bench: BenchModule = {
  name: 'invoice',
  description: `monthly invoice for one tenant over ${SEGMENTS.toLocaleString('en')} ledger segments`,
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-invoice-'));
    fs.chmodSync(dir, 0o711);
    const pg = await startEmbeddedPostgres(dir, { log: () => undefined, quiet: true });
    const { db, pool } = createDb(pg.url, 4);
    try {
      await runMigrations(pg.url);
      await setUpCompute(db);
      const owner = await makeUser(db);
      const tenant = await makeTenant(db, owner);
      const month = new Date('2026-10-01T00:00:00Z');
      await db.execute(sql`
        insert into price_versions (effective_from, currency, vcpu_hour, memory_gib_hour, disk_gib_hour, nic_hour) values
          ('2000-01-01', 'USD', 10400, 5200, 137, 1000),
          ('2026-10-10', 'USD', 11000, 5500, 140, 1000),
          ('2026-10-20', 'USD', 12000, 6000, 150, 1100)`);
      // 1,000 instances, 1,000 segments each (250 per resource), spread across the month.
      await db.execute(sql`
        insert into instances (id, tenant_id, name, image_id, vcpus, memory_mib, disk_gib, nics, state)
        select 'i-' || lpad(to_hex(g), 17, '0'), ${tenant.id}, 'bench-' || g, 'cirrus-tiny-linux', 2, 2048, 20, 1, 'terminated'
        from generate_series(1, 1000) g`);
      const t0 = performance.now();
      await db.execute(sql`
        insert into usage_segments (tenant_id, instance_id, resource, quantity, started_at, ended_at)
        select ${tenant.id}, 'i-' || lpad(to_hex(1 + (g % 1000)), 17, '0'),
               (array['vcpu','memory_mib','disk_gib','nic']::usage_resource[])[1 + (g / 1000) % 4],
               1 + g % 4,
               ${month}::timestamptz + ((g / 4000) * interval '10 seconds'),
               ${month}::timestamptz + ((g / 4000) * interval '10 seconds') + interval '9 seconds'
        from generate_series(0, ${SEGMENTS - 1}) g`);
      await db.execute(sql`analyze usage_segments`);
      const loadSeconds = (performance.now() - t0) / 1000;
      const runs: number[] = [];
      let total = 0;
      for (let i = 0; i < 3; i++) {
        const s = performance.now();
        const lines = await chargeLines(db, tenant.id, month, new Date('2026-11-01T00:00:00Z'));
        runs.push(performance.now() - s);
        total = lines.reduce((a, l) => a + l.amountMicro, 0);
      }
      const daily: number[] = [];
      for (let i = 0; i < 3; i++) {
        const s = performance.now();
        await dailyCharges(db, tenant.id, month, new Date('2026-11-01T00:00:00Z'));
        daily.push(performance.now() - s);
      }
      return [
        { label: 'segments', value: SEGMENTS },
        { label: 'generating them', value: loadSeconds, unit: 's' },
        { label: 'monthly invoice (median of 3)', value: median(runs), unit: 'ms' },
        { label: 'daily costs of the month, one query (median of 3)', value: median(daily), unit: 'ms' },
        { label: 'invoice total', value: `${(total / 1e6).toFixed(2)} USD` },
      ];
    } finally {
      await pool.end();
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
