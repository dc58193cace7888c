CREATE TYPE "public"."migration_state" AS ENUM('queued', 'preparing', 'copying', 'switching', 'completed', 'failed');--> statement-breakpoint
CREATE TABLE "instance_migrations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"instance_id" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"source_host_id" uuid NOT NULL,
	"target_host_id" uuid NOT NULL,
	"state" "migration_state" DEFAULT 'queued' NOT NULL,
	"reason" text NOT NULL,
	"requested_by" text NOT NULL,
	"progress" jsonb,
	"downtime_ms" integer,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "migration_host_id" uuid;--> statement-breakpoint
ALTER TABLE "instance_migrations" ADD CONSTRAINT "instance_migrations_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instance_migrations" ADD CONSTRAINT "instance_migrations_source_host_id_hosts_id_fk" FOREIGN KEY ("source_host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instance_migrations" ADD CONSTRAINT "instance_migrations_target_host_id_hosts_id_fk" FOREIGN KEY ("target_host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "instance_migrations_active_key" ON "instance_migrations" USING btree ("instance_id") WHERE "instance_migrations"."state" in ('queued', 'preparing', 'copying', 'switching');--> statement-breakpoint
CREATE INDEX "instance_migrations_source_idx" ON "instance_migrations" USING btree ("source_host_id","created_at");--> statement-breakpoint
CREATE INDEX "instance_migrations_instance_idx" ON "instance_migrations" USING btree ("instance_id","created_at");--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_migration_host_id_hosts_id_fk" FOREIGN KEY ("migration_host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "instances_migration_host_idx" ON "instances" USING btree ("migration_host_id") WHERE "instances"."migration_host_id" is not null;--> statement-breakpoint
-- An instance moving to another host holds room on both until the move ends: the sums of a host count the
-- instances on it and those moving to it (migration_host_id), here and in server/hosts (allocatedOn, the candidates).
CREATE OR REPLACE FUNCTION "instances_claim_host"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  h hosts;
  used record;
  isolation text := current_setting('transaction_isolation');
  target uuid := CASE WHEN TG_OP = 'INSERT' THEN NEW.host_id ELSE NEW.migration_host_id END;
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
-- A move claims its target as a launch claims its host: by the same function, as its transaction commits.
CREATE CONSTRAINT TRIGGER "instances_claim_migration_host" AFTER UPDATE OF "migration_host_id" ON "instances" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.migration_host_id IS NOT NULL AND NEW.migration_host_id IS DISTINCT FROM OLD.migration_host_id) EXECUTE FUNCTION instances_claim_host('45');
