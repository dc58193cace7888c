CREATE TYPE "public"."usage_resource" AS ENUM('vcpu', 'memory_mib', 'disk_gib', 'nic');--> statement-breakpoint
CREATE TABLE "usage_segments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"instance_id" text NOT NULL,
	"resource" "usage_resource" NOT NULL,
	"quantity" integer NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "usage_segments" ADD CONSTRAINT "usage_segments_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_segments" ADD CONSTRAINT "usage_segments_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_segments_tenant_time_idx" ON "usage_segments" USING btree ("tenant_id","started_at");--> statement-breakpoint
CREATE INDEX "usage_segments_instance_idx" ON "usage_segments" USING btree ("instance_id","resource");--> statement-breakpoint
CREATE UNIQUE INDEX "usage_segments_one_open_key" ON "usage_segments" USING btree ("instance_id","resource") WHERE ended_at is null;