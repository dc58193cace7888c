CREATE TYPE "public"."snapshot_state" AS ENUM('creating', 'available', 'restoring', 'deleting', 'error');--> statement-breakpoint
ALTER TYPE "public"."instance_state" ADD VALUE 'restoring';--> statement-breakpoint
ALTER TYPE "public"."usage_resource" ADD VALUE 'snapshot_mib';--> statement-breakpoint
CREATE TABLE "snapshots" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"instance_id" text NOT NULL,
	"name" text NOT NULL,
	"with_memory" boolean NOT NULL,
	"state" "snapshot_state" DEFAULT 'creating' NOT NULL,
	"state_reason" text,
	"disk_bytes" bigint DEFAULT 0 NOT NULL,
	"state_bytes" bigint DEFAULT 0 NOT NULL,
	"progress" jsonb,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "snapshot_gib_hour" bigint DEFAULT 68 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "snapshots" integer DEFAULT 20 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "snapshot_gib" integer DEFAULT 100 NOT NULL;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "snapshots_instance_created_idx" ON "snapshots" USING btree ("instance_id","created_at","id");--> statement-breakpoint
CREATE INDEX "snapshots_tenant_idx" ON "snapshots" USING btree ("tenant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "snapshots_instance_name_key" ON "snapshots" USING btree ("instance_id",lower("name"));