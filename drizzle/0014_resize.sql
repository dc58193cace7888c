ALTER TYPE "public"."instance_state" ADD VALUE 'resizing';--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "max_vcpus" integer;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "max_memory_mib" integer;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "resize" jsonb;