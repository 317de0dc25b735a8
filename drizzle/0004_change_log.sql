CREATE TABLE "cache_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"table_name" text NOT NULL,
	"row_id" integer,
	"before" jsonb,
	"after" jsonb,
	"coarse" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "cache_changes_xid_idx" ON "cache_changes" USING btree ("xid");--> statement-breakpoint
CREATE INDEX "cache_changes_created_at_idx" ON "cache_changes" USING btree ("created_at");