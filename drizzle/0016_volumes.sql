CREATE TYPE "public"."volume_state" AS ENUM('creating', 'available', 'attaching', 'in-use', 'detaching', 'deleting', 'deleted', 'error');--> statement-breakpoint
ALTER TYPE "public"."usage_resource" ADD VALUE 'volume_gib';--> statement-breakpoint
ALTER TYPE "public"."usage_resource" ADD VALUE 'volume_iops';--> statement-breakpoint
ALTER TYPE "public"."usage_resource" ADD VALUE 'volume_mbps';--> statement-breakpoint
CREATE TABLE "storage_pools" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"host_id" uuid NOT NULL,
	"path" text NOT NULL,
	"capacity_bytes" bigint NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "volumes" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"size_gib" integer NOT NULL,
	"iops" integer NOT NULL,
	"mbps" integer NOT NULL,
	"pool_id" uuid NOT NULL,
	"state" "volume_state" DEFAULT 'creating' NOT NULL,
	"state_reason" text,
	"progress" jsonb,
	"instance_id" text,
	"source_snapshot_id" text,
	"source_instance_id" text,
	"allocated_bytes" bigint DEFAULT 0 NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attached_at" timestamp with time zone,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "usage_segments" DROP CONSTRAINT "usage_segments_one_subject";--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "volume_gib_hour" bigint DEFAULT 110 NOT NULL;--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "volume_iops_hour" bigint DEFAULT 7 NOT NULL;--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "volume_mbps_hour" bigint DEFAULT 55 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "volumes" integer DEFAULT 20 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "volume_gib" integer DEFAULT 500 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_segments" ADD COLUMN "volume_id" text;--> statement-breakpoint
ALTER TABLE "storage_pools" ADD CONSTRAINT "storage_pools_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_pool_id_storage_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."storage_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "storage_pools_name_key" ON "storage_pools" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "storage_pools_host_path_key" ON "storage_pools" USING btree ("host_id","path");--> statement-breakpoint
CREATE INDEX "volumes_tenant_created_idx" ON "volumes" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
CREATE INDEX "volumes_instance_idx" ON "volumes" USING btree ("instance_id");--> statement-breakpoint
CREATE INDEX "volumes_pool_idx" ON "volumes" USING btree ("pool_id");--> statement-breakpoint
CREATE UNIQUE INDEX "volumes_tenant_name_key" ON "volumes" USING btree ("tenant_id",lower("name")) WHERE state <> 'deleted';--> statement-breakpoint
ALTER TABLE "usage_segments" ADD CONSTRAINT "usage_segments_volume_id_volumes_id_fk" FOREIGN KEY ("volume_id") REFERENCES "public"."volumes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "usage_segments_volume_open_key" ON "usage_segments" USING btree ("volume_id","resource") WHERE ended_at is null;--> statement-breakpoint
ALTER TABLE "usage_segments" ADD CONSTRAINT "usage_segments_one_subject" CHECK (num_nonnulls("usage_segments"."instance_id", "usage_segments"."image_id", "usage_segments"."volume_id") = 1);