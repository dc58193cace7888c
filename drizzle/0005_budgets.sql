CREATE TABLE "tenant_budgets" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"monthly_micro" bigint NOT NULL,
	"hard_cap" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tenant_budgets" ADD CONSTRAINT "tenant_budgets_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;