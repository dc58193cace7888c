ALTER TYPE "public"."usage_resource" ADD VALUE 'bandwidth_mbit';--> statement-breakpoint
ALTER TYPE "public"."usage_resource" ADD VALUE 'port_forward';--> statement-breakpoint
CREATE TABLE "network_hosts" (
	"network_id" uuid NOT NULL,
	"host_id" uuid NOT NULL,
	"slot" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "network_hosts_network_id_host_id_pk" PRIMARY KEY("network_id","host_id")
);
--> statement-breakpoint
CREATE TABLE "network_interfaces" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"instance_id" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"network_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"mac" text NOT NULL,
	"address" "inet",
	"rate_mbit" integer NOT NULL,
	"mode" text DEFAULT 'bridged' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"released_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "networks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"cidr" "cidr" NOT NULL,
	"gateway" "inet" NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"vxlan_id" integer GENERATED ALWAYS AS IDENTITY (sequence name "networks_vxlan_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 16777215 START WITH 4096 CACHE 1),
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "port_forwards" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"instance_id" text NOT NULL,
	"interface_id" uuid NOT NULL,
	"host_id" uuid NOT NULL,
	"host_port" integer NOT NULL,
	"guest_port" integer NOT NULL,
	"protocol" text DEFAULT 'tcp' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "flavors" ADD COLUMN "bandwidth_mbit" integer DEFAULT 100 NOT NULL;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "network_mode" text DEFAULT 'user' NOT NULL;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "network_note" text;--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "bandwidth_mbit_hour" bigint DEFAULT 40 NOT NULL;--> statement-breakpoint
ALTER TABLE "price_versions" ADD COLUMN "port_forward_hour" bigint DEFAULT 5000 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "networks" integer DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "bandwidth_mbit" integer DEFAULT 2000 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "port_forwards" integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "network_hosts" ADD CONSTRAINT "network_hosts_network_id_networks_id_fk" FOREIGN KEY ("network_id") REFERENCES "public"."networks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "network_hosts" ADD CONSTRAINT "network_hosts_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "network_interfaces" ADD CONSTRAINT "network_interfaces_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "network_interfaces" ADD CONSTRAINT "network_interfaces_network_id_networks_id_fk" FOREIGN KEY ("network_id") REFERENCES "public"."networks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "port_forwards" ADD CONSTRAINT "port_forwards_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "port_forwards" ADD CONSTRAINT "port_forwards_interface_id_network_interfaces_id_fk" FOREIGN KEY ("interface_id") REFERENCES "public"."network_interfaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "port_forwards" ADD CONSTRAINT "port_forwards_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "network_hosts_slot_key" ON "network_hosts" USING btree ("host_id","slot");--> statement-breakpoint
CREATE UNIQUE INDEX "network_interfaces_position_key" ON "network_interfaces" USING btree ("instance_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "network_interfaces_address_key" ON "network_interfaces" USING btree ("network_id","address");--> statement-breakpoint
CREATE UNIQUE INDEX "network_interfaces_live_mac_key" ON "network_interfaces" USING btree ("mac") WHERE released_at is null;--> statement-breakpoint
CREATE INDEX "network_interfaces_network_idx" ON "network_interfaces" USING btree ("network_id") WHERE released_at is null;--> statement-breakpoint
CREATE INDEX "network_interfaces_tenant_idx" ON "network_interfaces" USING btree ("tenant_id") WHERE released_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "networks_tenant_name_key" ON "networks" USING btree ("tenant_id",lower("name")) WHERE deleted_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "networks_one_default_key" ON "networks" USING btree ("tenant_id") WHERE is_default and deleted_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "networks_vxlan_key" ON "networks" USING btree ("vxlan_id");--> statement-breakpoint
CREATE UNIQUE INDEX "port_forwards_host_port_key" ON "port_forwards" USING btree ("host_id","host_port");--> statement-breakpoint
CREATE INDEX "port_forwards_instance_idx" ON "port_forwards" USING btree ("instance_id");--> statement-breakpoint
-- Hand-written (drizzle-kit cannot express these): the rules the data must keep whatever the code does.
CREATE EXTENSION IF NOT EXISTS btree_gist;--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_no_overlap" EXCLUDE USING gist ("tenant_id" WITH =, "cidr" inet_ops WITH &&) WHERE ("deleted_at" IS NULL);--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_cidr_check" CHECK (family("cidr") = 4 AND masklen("cidr") BETWEEN 16 AND 28 AND "gateway" << "cidr");--> statement-breakpoint
ALTER TABLE "network_interfaces" ADD CONSTRAINT "network_interfaces_check" CHECK ("position" BETWEEN 0 AND 7 AND "rate_mbit" > 0 AND ("address" IS NULL OR masklen("address") = 32));--> statement-breakpoint
ALTER TABLE "port_forwards" ADD CONSTRAINT "port_forwards_ports_check" CHECK ("host_port" BETWEEN 1 AND 65535 AND "guest_port" BETWEEN 1 AND 65535);--> statement-breakpoint
-- Every tenant has a default network; existing ones get theirs now (new ones when they are created).
INSERT INTO "networks" ("tenant_id", "name", "cidr", "gateway", "is_default") SELECT "id", 'default', '10.0.0.0/24', '10.0.0.1', true FROM "tenants";
