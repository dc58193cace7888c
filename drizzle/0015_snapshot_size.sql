ALTER TABLE "snapshots" ADD COLUMN "vcpus" integer;--> statement-breakpoint
ALTER TABLE "snapshots" ADD COLUMN "memory_mib" integer;