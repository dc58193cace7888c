CREATE TABLE "key_pairs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"key_type" text NOT NULL,
	"bits" integer NOT NULL,
	"public_key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"generated" boolean DEFAULT false NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "os_family" text DEFAULT 'linux' NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "os_version" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "login_user" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "architecture" text DEFAULT 'x86_64' NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "min_vcpus" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "features" jsonb DEFAULT '{"cloudInit":false,"guestAgent":false,"hotplug":false}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "key_name" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "ssh_public_key" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "user_data" text;--> statement-breakpoint
ALTER TABLE "key_pairs" ADD CONSTRAINT "key_pairs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "key_pairs_tenant_name_key" ON "key_pairs" USING btree ("tenant_id",lower("name"));--> statement-breakpoint
CREATE INDEX "key_pairs_tenant_created_idx" ON "key_pairs" USING btree ("tenant_id","created_at","id");--> statement-breakpoint
ALTER TABLE "key_pairs" ADD CONSTRAINT "key_pairs_type_check" CHECK ("key_type" IN ('ed25519', 'ecdsa', 'rsa') AND "bits" > 0);--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_user_data_check" CHECK ("user_data" IS NULL OR octet_length("user_data") <= 16384);
