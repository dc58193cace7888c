CREATE TYPE "public"."image_state" AS ENUM('creating', 'available', 'deleting', 'deleted', 'error');--> statement-breakpoint
ALTER TYPE "public"."usage_resource" ADD VALUE 'image_mib';--> statement-breakpoint
ALTER TABLE "usage_segments" ALTER COLUMN "instance_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "captured" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "owner_tenant_id" uuid;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "published" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "state" "image_state" DEFAULT 'available' NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "state_reason" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "progress" jsonb;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "source_instance_id" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "source_snapshot_id" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "host_id" uuid;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "created_by" uuid;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "image_gib_hour" bigint DEFAULT 68 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_segments" ADD COLUMN "image_id" text;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_owner_tenant_id_tenants_id_fk" FOREIGN KEY ("owner_tenant_id") REFERENCES "public"."tenants"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_segments" ADD CONSTRAINT "usage_segments_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "images_owner_idx" ON "images" USING btree ("owner_tenant_id") WHERE "images"."owner_tenant_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "usage_segments_image_open_key" ON "usage_segments" USING btree ("image_id","resource") WHERE ended_at is null;--> statement-breakpoint
ALTER TABLE "usage_segments" ADD CONSTRAINT "usage_segments_one_subject" CHECK (num_nonnulls("usage_segments"."instance_id", "usage_segments"."image_id") = 1);