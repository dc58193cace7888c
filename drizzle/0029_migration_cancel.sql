ALTER TABLE "instance_migrations" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "instance_migrations" ADD COLUMN "cancelled_by" text;