-- usage_monthly loses its price version and gains `priced` (Σ unit-seconds × price, exact): a whole month's invoice
-- line is then one row, round(priced ÷ usage_divisor). Emptied first (its new key is coarser, and the new column has
-- no value for old rows), then refilled from usage_daily below.
TRUNCATE "usage_monthly";--> statement-breakpoint
ALTER TABLE "usage_monthly" DROP CONSTRAINT "usage_monthly_key";--> statement-breakpoint
ALTER TABLE "usage_monthly" DROP CONSTRAINT "usage_monthly_price_version_id_price_versions_id_fk";
--> statement-breakpoint
ALTER TABLE "usage_monthly" ADD COLUMN "priced" numeric NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_monthly" DROP COLUMN "price_version_id";--> statement-breakpoint
ALTER TABLE "usage_monthly" ADD CONSTRAINT "usage_monthly_key" UNIQUE NULLS NOT DISTINCT("tenant_id","month","resource","instance_id","image_id","volume_id");

--> statement-breakpoint
-- usage_monthly's rows from `from_month` on, summed from usage_daily's days and priced (what the triggers keep equal).
CREATE FUNCTION "usage_monthly_from_daily"(from_month date) RETURNS void
LANGUAGE sql VOLATILE AS $$
  INSERT INTO usage_monthly (tenant_id, instance_id, image_id, volume_id, resource, month, unit_seconds, seconds, parts, priced)
  SELECT d.tenant_id, d.instance_id, d.image_id, d.volume_id, d.resource, date_trunc('month', d.day)::date, sum(d.unit_seconds), sum(d.seconds), sum(d.parts)::int,
         sum(d.unit_seconds * usage_price(pv, d.resource))
  FROM usage_daily d
  JOIN price_versions pv ON pv.id = d.price_version_id
  WHERE d.day >= from_month
  GROUP BY d.tenant_id, date_trunc('month', d.day), d.resource, d.instance_id, d.image_id, d.volume_id;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "usage_daily_apply"(added usage_segments[], removed usage_segments[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
  WITH delta AS (
    SELECT x.tenant_id, x.instance_id, x.image_id, x.volume_id, x.resource, x.day, x.price_version_id,
           sum(x.w * x.unit_seconds) AS unit_seconds, sum(x.w * x.seconds) AS seconds, sum(x.w)::int AS parts
    FROM (SELECT p.*, 1 AS w FROM usage_parts(added) p UNION ALL SELECT p.*, -1 AS w FROM usage_parts(removed) p) x
    GROUP BY x.tenant_id, x.day, x.resource, x.price_version_id, x.instance_id, x.image_id, x.volume_id
    HAVING sum(x.w) <> 0 OR sum(x.w * x.unit_seconds) <> 0 OR sum(x.w * x.seconds) <> 0
  ), keys AS (
    SELECT DISTINCT d.tenant_id, d.day, d.resource, coalesce(d.instance_id, d.image_id, d.volume_id) AS subject FROM delta d
  ), before AS (
    -- The touched line-days as they stand (this statement's snapshot).
    SELECT u.tenant_id, u.day, u.resource, coalesce(u.instance_id, u.image_id, u.volume_id) AS subject, u.price_version_id, u.unit_seconds, u.parts
    FROM usage_daily u
    JOIN keys k ON k.tenant_id = u.tenant_id AND k.day = u.day AND k.resource = u.resource AND k.subject = coalesce(u.instance_id, u.image_id, u.volume_id)
  ), lines AS (
    SELECT l.tenant_id, l.day, l.resource, l.subject,
           round(sum(l.unit_seconds * usage_price(pv, l.resource) * l.was) / usage_divisor(l.resource)) AS was_amount,
           round(sum(l.unit_seconds * usage_price(pv, l.resource)) / usage_divisor(l.resource)) AS amount,
           sum(l.parts * l.was) > 0 AS was_there, sum(l.parts) > 0 AS there
    FROM (SELECT b.*, 1 AS was FROM before b
          UNION ALL SELECT d.tenant_id, d.day, d.resource, coalesce(d.instance_id, d.image_id, d.volume_id), d.price_version_id, d.unit_seconds, d.parts, 0 FROM delta d) l
    JOIN price_versions pv ON pv.id = l.price_version_id
    GROUP BY l.tenant_id, l.day, l.resource, l.subject
  ), daily AS (
    INSERT INTO usage_daily AS u (tenant_id, instance_id, image_id, volume_id, resource, day, price_version_id, unit_seconds, seconds, parts)
    SELECT d.tenant_id, d.instance_id, d.image_id, d.volume_id, d.resource, d.day, d.price_version_id, d.unit_seconds, d.seconds, d.parts
    FROM delta d
    ORDER BY d.tenant_id, d.day, d.resource, d.price_version_id, d.instance_id, d.image_id, d.volume_id
    ON CONFLICT ON CONSTRAINT usage_daily_key DO UPDATE
      SET unit_seconds = u.unit_seconds + excluded.unit_seconds, seconds = u.seconds + excluded.seconds, parts = u.parts + excluded.parts
  ), monthly AS (
    INSERT INTO usage_monthly AS u (tenant_id, instance_id, image_id, volume_id, resource, month, unit_seconds, seconds, parts, priced)
    SELECT d.tenant_id, d.instance_id, d.image_id, d.volume_id, d.resource, date_trunc('month', d.day)::date, sum(d.unit_seconds), sum(d.seconds), sum(d.parts)::int,
           sum(d.unit_seconds * usage_price(pv, d.resource))
    FROM delta d
    JOIN price_versions pv ON pv.id = d.price_version_id
    GROUP BY d.tenant_id, date_trunc('month', d.day), d.resource, d.instance_id, d.image_id, d.volume_id
    -- Usage moved between price versions within the month changes only what it is priced at.
    HAVING sum(d.parts) <> 0 OR sum(d.unit_seconds) <> 0 OR sum(d.seconds) <> 0 OR sum(d.unit_seconds * usage_price(pv, d.resource)) <> 0
    ORDER BY d.tenant_id, date_trunc('month', d.day), d.resource, d.instance_id, d.image_id, d.volume_id
    ON CONFLICT ON CONSTRAINT usage_monthly_key DO UPDATE
      SET unit_seconds = u.unit_seconds + excluded.unit_seconds, seconds = u.seconds + excluded.seconds, parts = u.parts + excluded.parts,
          priced = u.priced + excluded.priced
  )
  INSERT INTO usage_day_totals AS t (tenant_id, day, amount, lines)
  SELECT l.tenant_id, l.day,
         sum(CASE WHEN l.there THEN l.amount ELSE 0 END) - sum(CASE WHEN l.was_there THEN l.was_amount ELSE 0 END),
         (count(*) FILTER (WHERE l.there) - count(*) FILTER (WHERE l.was_there))::int
  FROM lines l
  GROUP BY l.tenant_id, l.day
  ORDER BY l.tenant_id, l.day
  ON CONFLICT (tenant_id, day) DO UPDATE SET amount = t.amount + excluded.amount, lines = t.lines + excluded.lines;
  DELETE FROM usage_daily WHERE parts = 0;
  DELETE FROM usage_monthly WHERE parts = 0;
  DELETE FROM usage_day_totals WHERE lines = 0;
$$;
--> statement-breakpoint
-- Recomputes everything from `from_day` on from the segments (a price version added, moved, removed or repriced):
-- the days, the months those days are in (from the days), and the days' totals.
CREATE OR REPLACE FUNCTION "usage_daily_rederive"(from_day date) RETURNS void
LANGUAGE sql VOLATILE AS $$
  DELETE FROM usage_daily WHERE day >= from_day;
  INSERT INTO usage_daily (tenant_id, instance_id, image_id, volume_id, resource, day, price_version_id, unit_seconds, seconds, parts)
  SELECT p.tenant_id, p.instance_id, p.image_id, p.volume_id, p.resource, p.day, p.price_version_id, sum(p.unit_seconds), sum(p.seconds), count(*)::int
  FROM usage_parts(array(
    SELECT s FROM usage_segments s
    WHERE (s.ended_at IS NOT NULL AND s.ended_at > (from_day::timestamp AT TIME ZONE 'UTC') - interval '60 seconds')
       OR (s.ended_at IS NULL AND s.billed_through > (from_day::timestamp AT TIME ZONE 'UTC'))
  )) p
  WHERE p.day >= from_day
  GROUP BY p.tenant_id, p.day, p.resource, p.price_version_id, p.instance_id, p.image_id, p.volume_id;
  DELETE FROM usage_monthly WHERE month >= date_trunc('month', from_day)::date;
  SELECT usage_monthly_from_daily(date_trunc('month', from_day)::date);
  DELETE FROM usage_day_totals WHERE day >= from_day;
  INSERT INTO usage_day_totals (tenant_id, day, amount, lines)
  SELECT l.tenant_id, l.day, sum(l.amount), count(*)::int
  FROM (
    SELECT d.tenant_id, d.day, round(sum(d.unit_seconds * usage_price(pv, d.resource)) / usage_divisor(d.resource)) AS amount
    FROM usage_daily d JOIN price_versions pv ON pv.id = d.price_version_id
    WHERE d.day >= from_day
    GROUP BY d.tenant_id, d.day, d.resource, coalesce(d.instance_id, d.image_id, d.volume_id)
  ) l
  GROUP BY l.tenant_id, l.day;
$$;
--> statement-breakpoint
SELECT usage_monthly_from_daily('-infinity'::date);
