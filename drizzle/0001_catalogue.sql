CREATE TYPE "public"."kit_condition" AS ENUM('MINT', 'EXCELLENT', 'GOOD', 'WORN');--> statement-breakpoint
CREATE TYPE "public"."kit_type" AS ENUM('HOME', 'AWAY', 'THIRD', 'GOALKEEPER', 'SPECIAL');--> statement-breakpoint
CREATE TYPE "public"."user_role" AS ENUM('USER', 'ADMIN');--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "brands" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "clubs" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"country" text NOT NULL,
	"founded" integer
);
--> statement-breakpoint
CREATE TABLE "collection_items" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"kit_id" integer NOT NULL,
	"condition" "kit_condition" NOT NULL,
	"note" text,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "competitions" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"country" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "kit_competitions" (
	"kit_id" integer NOT NULL,
	"competition_id" integer NOT NULL,
	CONSTRAINT "kit_competitions_kit_id_competition_id_pk" PRIMARY KEY("kit_id","competition_id")
);
--> statement-breakpoint
CREATE TABLE "kits" (
	"id" serial PRIMARY KEY NOT NULL,
	"club_id" integer NOT NULL,
	"season_id" integer NOT NULL,
	"brand_id" integer NOT NULL,
	"type" "kit_type" NOT NULL,
	"name" text NOT NULL,
	"primary_colour" text NOT NULL,
	"secondary_colours" text[] DEFAULT '{}'::text[] NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "seasons" (
	"id" serial PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"start_year" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" "user_role" DEFAULT 'USER' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "collection_items" ADD CONSTRAINT "collection_items_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "collection_items" ADD CONSTRAINT "collection_items_kit_id_kits_id_fk" FOREIGN KEY ("kit_id") REFERENCES "public"."kits"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kit_competitions" ADD CONSTRAINT "kit_competitions_kit_id_kits_id_fk" FOREIGN KEY ("kit_id") REFERENCES "public"."kits"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kit_competitions" ADD CONSTRAINT "kit_competitions_competition_id_competitions_id_fk" FOREIGN KEY ("competition_id") REFERENCES "public"."competitions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kits" ADD CONSTRAINT "kits_club_id_clubs_id_fk" FOREIGN KEY ("club_id") REFERENCES "public"."clubs"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kits" ADD CONSTRAINT "kits_season_id_seasons_id_fk" FOREIGN KEY ("season_id") REFERENCES "public"."seasons"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kits" ADD CONSTRAINT "kits_brand_id_brands_id_fk" FOREIGN KEY ("brand_id") REFERENCES "public"."brands"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "brands_name_key" ON "brands" USING btree ("name");--> statement-breakpoint
CREATE INDEX "brands_name_trgm_idx" ON "brands" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "clubs_slug_key" ON "clubs" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "clubs_country_idx" ON "clubs" USING btree ("country");--> statement-breakpoint
CREATE INDEX "clubs_name_id_idx" ON "clubs" USING btree ("name","id");--> statement-breakpoint
CREATE INDEX "clubs_name_trgm_idx" ON "clubs" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "collection_items_user_id_idx" ON "collection_items" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "collection_items_kit_id_idx" ON "collection_items" USING btree ("kit_id");--> statement-breakpoint
CREATE INDEX "competitions_country_idx" ON "competitions" USING btree ("country");--> statement-breakpoint
CREATE INDEX "competitions_name_trgm_idx" ON "competitions" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "kit_competitions_competition_id_idx" ON "kit_competitions" USING btree ("competition_id","kit_id");--> statement-breakpoint
CREATE INDEX "kits_club_id_idx" ON "kits" USING btree ("club_id","id");--> statement-breakpoint
CREATE INDEX "kits_season_id_idx" ON "kits" USING btree ("season_id","id");--> statement-breakpoint
CREATE INDEX "kits_brand_id_idx" ON "kits" USING btree ("brand_id","id");--> statement-breakpoint
CREATE INDEX "kits_type_idx" ON "kits" USING btree ("type","id");--> statement-breakpoint
CREATE INDEX "kits_name_trgm_idx" ON "kits" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "seasons_label_key" ON "seasons" USING btree ("label");--> statement-breakpoint
CREATE INDEX "seasons_start_year_idx" ON "seasons" USING btree ("start_year");--> statement-breakpoint
CREATE UNIQUE INDEX "users_username_key" ON "users" USING btree ("username");