CREATE TABLE "usage_daily" (
	"tenant_id" uuid NOT NULL,
	"instance_id" text,
	"image_id" text,
	"volume_id" text,
	"resource" "usage_resource" NOT NULL,
	"day" date NOT NULL,
	"price_version_id" uuid NOT NULL,
	"unit_seconds" numeric NOT NULL,
	"seconds" numeric NOT NULL,
	"parts" integer NOT NULL,
	CONSTRAINT "usage_daily_key" UNIQUE NULLS NOT DISTINCT("tenant_id","day","resource","price_version_id","instance_id","image_id","volume_id")
);
--> statement-breakpoint
CREATE TABLE "usage_day_totals" (
	"tenant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"amount" numeric NOT NULL,
	"lines" integer NOT NULL,
	CONSTRAINT "usage_day_totals_tenant_id_day_pk" PRIMARY KEY("tenant_id","day")
);
--> statement-breakpoint
CREATE TABLE "usage_monthly" (
	"tenant_id" uuid NOT NULL,
	"instance_id" text,
	"image_id" text,
	"volume_id" text,
	"resource" "usage_resource" NOT NULL,
	"month" date NOT NULL,
	"price_version_id" uuid NOT NULL,
	"unit_seconds" numeric NOT NULL,
	"seconds" numeric NOT NULL,
	"parts" integer NOT NULL,
	CONSTRAINT "usage_monthly_key" UNIQUE NULLS NOT DISTINCT("tenant_id","month","resource","price_version_id","instance_id","image_id","volume_id")
);
--> statement-breakpoint
ALTER TABLE "usage_segments" ADD COLUMN "billed_through" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "usage_daily" ADD CONSTRAINT "usage_daily_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_daily" ADD CONSTRAINT "usage_daily_price_version_id_price_versions_id_fk" FOREIGN KEY ("price_version_id") REFERENCES "public"."price_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_day_totals" ADD CONSTRAINT "usage_day_totals_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_monthly" ADD CONSTRAINT "usage_monthly_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_monthly" ADD CONSTRAINT "usage_monthly_price_version_id_price_versions_id_fk" FOREIGN KEY ("price_version_id") REFERENCES "public"."price_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_daily_empty_idx" ON "usage_daily" USING btree ("tenant_id") WHERE parts = 0;--> statement-breakpoint
CREATE INDEX "usage_monthly_empty_idx" ON "usage_monthly" USING btree ("tenant_id") WHERE parts = 0;--> statement-breakpoint
CREATE INDEX "usage_segments_open_idx" ON "usage_segments" USING btree ("tenant_id") WHERE ended_at is null;
--> statement-breakpoint
-- Each price version's span: from its effective_from to the next one's.
CREATE VIEW "price_version_spans" AS
  SELECT id, effective_from AS v0, coalesce(lead(effective_from) OVER (ORDER BY effective_from), 'infinity'::timestamptz) AS v1
  FROM price_versions;
--> statement-breakpoint
-- A resource's price per priced unit-hour in a price version, and what divides unit-seconds × price into micro-units
-- (seconds per hour × metered units per priced unit). The same table as priceOf in server/billing/resources.ts
-- (daily.property.test.ts holds them equal).
CREATE FUNCTION "usage_price"(pv price_versions, r usage_resource) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE r WHEN 'vcpu' THEN pv.vcpu_hour WHEN 'memory_mib' THEN pv.memory_gib_hour WHEN 'disk_gib' THEN pv.disk_gib_hour
    WHEN 'nic' THEN pv.nic_hour WHEN 'bandwidth_mbit' THEN pv.bandwidth_mbit_hour WHEN 'port_forward' THEN pv.port_forward_hour
    WHEN 'saved_state_mib' THEN pv.saved_state_gib_hour WHEN 'snapshot_mib' THEN pv.snapshot_gib_hour WHEN 'image_mib' THEN pv.image_gib_hour
    WHEN 'volume_gib' THEN pv.volume_gib_hour WHEN 'volume_iops' THEN pv.volume_iops_hour WHEN 'volume_mbps' THEN pv.volume_mbps_hour END
$$;
--> statement-breakpoint
CREATE FUNCTION "usage_divisor"(r usage_resource) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN r IN ('memory_mib', 'saved_state_mib', 'snapshot_mib', 'image_mib') THEN 3600 * 1024 ELSE 3600 END
$$;
--> statement-breakpoint
-- The one place segments are cut into billed parts: per UTC day (24 hours, whatever the session's time zone) and
-- price version. A run of vCPU or memory is billed for at least 60 seconds (RUN_MINIMUM_RESOURCES in
-- server/billing/resources.ts). A closed segment is cut whole; an open one up to its billed_through (nothing without
-- one). Seconds are exact numerics (to the microsecond).
CREATE FUNCTION "usage_parts"(segs usage_segments[])
RETURNS TABLE (tenant_id uuid, instance_id text, image_id text, volume_id text, resource usage_resource, day date, price_version_id uuid, unit_seconds numeric, seconds numeric)
LANGUAGE sql STABLE AS $$
  SELECT s.tenant_id, s.instance_id, s.image_id, s.volume_id, s.resource,
         (d.d0 AT TIME ZONE 'UTC')::date,
         pv.id,
         s.quantity * extract(epoch FROM least(s.s1, pv.v1, d.d0 + interval '24 hours') - greatest(s.s0, pv.v0, d.d0)),
         extract(epoch FROM least(s.s1, pv.v1, d.d0 + interval '24 hours') - greatest(s.s0, pv.v0, d.d0))
  FROM (
    SELECT u.tenant_id, u.instance_id, u.image_id, u.volume_id, u.resource, u.quantity, u.started_at AS s0,
           CASE WHEN u.ended_at IS NULL THEN u.billed_through
                WHEN u.resource IN ('vcpu', 'memory_mib') THEN greatest(u.ended_at, u.started_at + interval '60 seconds')
                ELSE u.ended_at END AS s1
    FROM unnest(segs) u
    WHERE u.ended_at IS NOT NULL OR u.billed_through IS NOT NULL
  ) s
  JOIN price_version_spans pv ON pv.v0 < s.s1 AND pv.v1 > s.s0
  CROSS JOIN LATERAL generate_series(date_trunc('day', greatest(s.s0, pv.v0), 'UTC'), least(s.s1, pv.v1) - interval '1 microsecond', interval '24 hours') AS d(d0)
  WHERE greatest(s.s0, pv.v0, d.d0) < least(s.s1, pv.v1, d.d0 + interval '24 hours')
$$;
--> statement-breakpoint
-- Adds what the `added` segments contribute and takes out what the `removed` ones did, in one statement: the rows of
-- usage_daily and usage_monthly (rows that reach nothing go), and the usage_day_totals of the line-days touched, each
-- line priced and rounded before and after (a line-day is keyed by its subject's id: instance, image and volume ids
-- differ by their prefixes). Sorted, so two transactions touching the same rows lock them in the same order.
CREATE FUNCTION "usage_daily_apply"(added usage_segments[], removed usage_segments[]) RETURNS void
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
    INSERT INTO usage_monthly AS u (tenant_id, instance_id, image_id, volume_id, resource, month, price_version_id, unit_seconds, seconds, parts)
    SELECT d.tenant_id, d.instance_id, d.image_id, d.volume_id, d.resource, date_trunc('month', d.day)::date, d.price_version_id, sum(d.unit_seconds), sum(d.seconds), sum(d.parts)::int
    FROM delta d
    GROUP BY d.tenant_id, date_trunc('month', d.day), d.resource, d.price_version_id, d.instance_id, d.image_id, d.volume_id
    HAVING sum(d.parts) <> 0 OR sum(d.unit_seconds) <> 0 OR sum(d.seconds) <> 0
    ORDER BY d.tenant_id, date_trunc('month', d.day), d.resource, d.price_version_id, d.instance_id, d.image_id, d.volume_id
    ON CONFLICT ON CONSTRAINT usage_monthly_key DO UPDATE
      SET unit_seconds = u.unit_seconds + excluded.unit_seconds, seconds = u.seconds + excluded.seconds, parts = u.parts + excluded.parts
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
CREATE FUNCTION "usage_daily_rederive"(from_day date) RETURNS void
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
  INSERT INTO usage_monthly (tenant_id, instance_id, image_id, volume_id, resource, month, price_version_id, unit_seconds, seconds, parts)
  SELECT d.tenant_id, d.instance_id, d.image_id, d.volume_id, d.resource, date_trunc('month', d.day)::date, d.price_version_id, sum(d.unit_seconds), sum(d.seconds), sum(d.parts)::int
  FROM usage_daily d
  WHERE d.day >= date_trunc('month', from_day)::date
  GROUP BY d.tenant_id, date_trunc('month', d.day), d.resource, d.price_version_id, d.instance_id, d.image_id, d.volume_id;
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
-- Every write to the ledger keeps the sums equal to the segments' parts, in the same transaction: a segment closed,
-- inserted closed, checkpointed (billed_through moved), corrected (its times or quantity changed) or deleted (its
-- subject deleted). A whole tenant going takes its sums with it (cascade), so its deleted segments are not taken out again.
CREATE FUNCTION "usage_segments_to_daily"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM usage_daily_apply(array(SELECT n::usage_segments FROM new_segments n WHERE n.ended_at IS NOT NULL OR n.billed_through IS NOT NULL), '{}'::usage_segments[]);
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM usage_daily_apply(array(SELECT n::usage_segments FROM new_segments n WHERE n.ended_at IS NOT NULL OR n.billed_through IS NOT NULL),
                              array(SELECT o::usage_segments FROM old_segments o WHERE o.ended_at IS NOT NULL OR o.billed_through IS NOT NULL));
  ELSE
    PERFORM usage_daily_apply('{}'::usage_segments[],
                              array(SELECT o::usage_segments FROM old_segments o WHERE (o.ended_at IS NOT NULL OR o.billed_through IS NOT NULL) AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = o.tenant_id)));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "usage_segments_daily_insert" AFTER INSERT ON "usage_segments" REFERENCING NEW TABLE AS new_segments FOR EACH STATEMENT EXECUTE FUNCTION usage_segments_to_daily();
--> statement-breakpoint
CREATE TRIGGER "usage_segments_daily_update" AFTER UPDATE ON "usage_segments" REFERENCING OLD TABLE AS old_segments NEW TABLE AS new_segments FOR EACH STATEMENT EXECUTE FUNCTION usage_segments_to_daily();
--> statement-breakpoint
CREATE TRIGGER "usage_segments_daily_delete" AFTER DELETE ON "usage_segments" REFERENCING OLD TABLE AS old_segments FOR EACH STATEMENT EXECUTE FUNCTION usage_segments_to_daily();
--> statement-breakpoint
-- A price version added, removed, moved or repriced changes the sums from its day on (how closed parts split between
-- versions, and the day totals' prices): those days are re-derived, with segment writes held off until this
-- transaction ends.
CREATE FUNCTION "price_versions_to_daily"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  since timestamptz;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT min(n.effective_from) INTO since FROM new_versions n;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT min(o.effective_from) INTO since FROM old_versions o;
  ELSE
    SELECT min(least(o.effective_from, n.effective_from)) INTO since FROM old_versions o JOIN new_versions n ON n.id = o.id;
  END IF;
  IF since IS NOT NULL THEN
    LOCK TABLE usage_segments IN SHARE MODE;
    PERFORM usage_daily_rederive((date_trunc('day', since, 'UTC') AT TIME ZONE 'UTC')::date);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "price_versions_daily_insert" AFTER INSERT ON "price_versions" REFERENCING NEW TABLE AS new_versions FOR EACH STATEMENT EXECUTE FUNCTION price_versions_to_daily();
--> statement-breakpoint
CREATE TRIGGER "price_versions_daily_update" AFTER UPDATE ON "price_versions" REFERENCING OLD TABLE AS old_versions NEW TABLE AS new_versions FOR EACH STATEMENT EXECUTE FUNCTION price_versions_to_daily();
--> statement-breakpoint
CREATE TRIGGER "price_versions_daily_delete" AFTER DELETE ON "price_versions" REFERENCING OLD TABLE AS old_versions FOR EACH STATEMENT EXECUTE FUNCTION price_versions_to_daily();
--> statement-breakpoint
-- What the ledger already holds.
SELECT usage_daily_rederive('-infinity'::date);
