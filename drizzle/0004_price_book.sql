CREATE TABLE "price_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"currency" text NOT NULL,
	"vcpu_hour" bigint NOT NULL,
	"memory_gib_hour" bigint NOT NULL,
	"disk_gib_hour" bigint NOT NULL,
	"nic_hour" bigint NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "price_versions_effective_key" ON "price_versions" USING btree ("effective_from");