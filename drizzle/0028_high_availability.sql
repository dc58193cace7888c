ALTER TYPE "public"."host_state" ADD VALUE 'down';--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "shared_pool" text;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "down_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "fenced_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "auto_recover" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "recover_to" "instance_state";--> statement-breakpoint
-- An instance recovered from a down host (server/cluster/ha.ts) changes host: the new host's room is claimed as a
-- launch's, by the same function, as its transaction commits. A move's switch (host_id := migration_host_id) claimed
-- its room when it began and is not counted twice.
CREATE OR REPLACE FUNCTION "instances_claim_host"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  h hosts;
  used record;
  isolation text := current_setting('transaction_isolation');
  target uuid := CASE WHEN TG_OP = 'INSERT' OR TG_ARGV[1] = 'host' THEN NEW.host_id ELSE NEW.migration_host_id END;
BEGIN
  IF isolation <> 'read committed' THEN
    RAISE EXCEPTION 'instance % cannot claim room on its host under % isolation: placement counts concurrent claims only under READ COMMITTED', NEW.id, upper(isolation)
      USING ERRCODE = 'CRPL2', HINT = 'Run the transaction that places it at READ COMMITTED (createDb sets it as the connections'' default).';
  END IF;
  SELECT * INTO h FROM hosts WHERE id = target FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'host % of instance % is gone', target, NEW.id USING ERRCODE = 'CRPL1';
  END IF;
  SELECT coalesce(sum(i.vcpus) FILTER (WHERE i.state <> 'suspended'), 0) AS vcpus,
         coalesce(sum(i.memory_mib) FILTER (WHERE i.state <> 'suspended'), 0) AS memory_mib,
         coalesce(sum(i.disk_gib), 0) AS disk_gib
    INTO used
    FROM instances i
    WHERE (i.host_id = target OR i.migration_host_id = target) AND i.state NOT IN ('terminating', 'terminated');
  IF h.state <> 'enabled' OR h.heartbeat_at <= statement_timestamp() - make_interval(secs => TG_ARGV[0]::int)
     OR used.vcpus > (h.cpus::bigint * h.cpu_ratio_pct) / 100
     OR used.memory_mib > greatest(0, (h.memory_mib::bigint * h.ram_ratio_pct) / 100 - h.ram_reserve_mib)
     OR used.disk_gib > h.disk_gib THEN
    RAISE EXCEPTION 'host % has no room for instance % now', h.name, NEW.id USING ERRCODE = 'CRPL1', DETAIL = h.name;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "instances_claim_new_host" AFTER UPDATE OF "host_id" ON "instances" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.host_id IS NOT NULL AND NEW.host_id IS DISTINCT FROM OLD.host_id AND NEW.host_id IS DISTINCT FROM OLD.migration_host_id)
  EXECUTE FUNCTION instances_claim_host('45', 'host');
