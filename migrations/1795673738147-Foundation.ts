// Initial schema: workspaces, workspace API tokens, organisation admin tokens, audit events.
// Generated from the entities, reviewed by hand.
import { MigrationInterface, QueryRunner } from "typeorm";

export class Foundation1795673738147 implements MigrationInterface {
    name = 'Foundation1795673738147'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "audit_events" ("id" uuid NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "workspace_id" uuid, "actor_type" character varying(16) NOT NULL, "actor_id" character varying(64), "action" character varying(64) NOT NULL, "resource_type" character varying(32), "resource_id" character varying(64), "outcome" character varying(16) NOT NULL, "request_id" character varying(64), "client_ip" character varying(64), "via" character varying(8), "session_id" uuid, "details" jsonb NOT NULL DEFAULT '{}'::jsonb, CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_4e139cc590fd5127ecc451472e" ON "audit_events"  ("occurred_at") `);
        await queryRunner.query(`CREATE INDEX "IDX_68d908019304f757740bc47a0a" ON "audit_events"  ("action") `);
        await queryRunner.query(`CREATE INDEX "IDX_0e09841e1e20e5abd79fb3a5e8" ON "audit_events"  ("workspace_id", "occurred_at") `);
        await queryRunner.query(`CREATE TABLE "admin_tokens" ("id" uuid NOT NULL, "name" character varying(100) NOT NULL, "key_id" character varying(32) NOT NULL, "secret_hash" bytea NOT NULL, "display_prefix" character varying(48) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_1b8fe3dbc19bbe91baa16ab6b09" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_37268c179f6781add712737442" ON "admin_tokens"  ("key_id") `);
        await queryRunner.query(`CREATE TABLE "workspaces" ("id" uuid NOT NULL, "name" character varying(100) NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'active', "settings" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "archived_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_098656ae401f3e1a4586f47fd8e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE TABLE "api_tokens" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(100) NOT NULL, "role" character varying(16) NOT NULL, "key_id" character varying(32) NOT NULL, "secret_hash" bytea NOT NULL, "display_prefix" character varying(48) NOT NULL, "created_by" character varying(64), "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_c587455266b5fa8dace7194caac" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_9c644dd21cac1a0e8fca944337" ON "api_tokens"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_7cbaef8970ba7b1d3191f547d4" ON "api_tokens"  ("key_id") `);
        await queryRunner.query(`ALTER TABLE "api_tokens" ADD CONSTRAINT "FK_9c644dd21cac1a0e8fca9443373" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "api_tokens" DROP CONSTRAINT "FK_9c644dd21cac1a0e8fca9443373"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_7cbaef8970ba7b1d3191f547d4"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_9c644dd21cac1a0e8fca944337"`);
        await queryRunner.query(`DROP TABLE "api_tokens"`);
        await queryRunner.query(`DROP TABLE "workspaces"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_37268c179f6781add712737442"`);
        await queryRunner.query(`DROP TABLE "admin_tokens"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_0e09841e1e20e5abd79fb3a5e8"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_68d908019304f757740bc47a0a"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_4e139cc590fd5127ecc451472e"`);
        await queryRunner.query(`DROP TABLE "audit_events"`);
    }

}
