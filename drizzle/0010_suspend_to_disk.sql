ALTER TYPE "public"."instance_state" ADD VALUE 'suspending';--> statement-breakpoint
ALTER TYPE "public"."instance_state" ADD VALUE 'suspended';--> statement-breakpoint
ALTER TYPE "public"."instance_state" ADD VALUE 'resuming';--> statement-breakpoint
ALTER TYPE "public"."usage_resource" ADD VALUE 'saved_state_mib';--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "saved_state_mib" integer;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "progress" jsonb;--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "saved_state_gib_hour" bigint DEFAULT 137 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "saved_state_mib" integer DEFAULT 16384 NOT NULL;