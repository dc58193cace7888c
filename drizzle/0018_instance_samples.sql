CREATE TYPE "public"."sample_tier" AS ENUM('raw', '1m', '15m');--> statement-breakpoint
CREATE TABLE "instance_samples" (
	"instance_id" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"tier" "sample_tier" NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"samples" integer DEFAULT 1 NOT NULL,
	"cpu_pct" double precision NOT NULL,
	"cpu_pct_max" double precision NOT NULL,
	"memory_total_bytes" double precision NOT NULL,
	"memory_resident_bytes" double precision NOT NULL,
	"disk_read_bps" double precision NOT NULL,
	"disk_write_bps" double precision NOT NULL,
	"net_rx_bps" double precision,
	"net_tx_bps" double precision,
	CONSTRAINT "instance_samples_instance_id_tier_at_pk" PRIMARY KEY("instance_id","tier","at")
);
--> statement-breakpoint
ALTER TABLE "instance_samples" ADD CONSTRAINT "instance_samples_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instance_samples" ADD CONSTRAINT "instance_samples_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "instance_samples_tier_at_idx" ON "instance_samples" USING btree ("tier","at");