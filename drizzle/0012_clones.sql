ALTER TABLE "instances" ADD COLUMN "clone_of_instance_id" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "clone_of_snapshot_id" text;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "clone_linked" boolean;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_clone_of_instance_id_instances_id_fk" FOREIGN KEY ("clone_of_instance_id") REFERENCES "public"."instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "instances_clone_of_idx" ON "instances" USING btree ("clone_of_instance_id") WHERE "instances"."clone_of_instance_id" is not null;