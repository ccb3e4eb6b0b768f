// Issue 13 (images from registries): registry credentials (sealed passwords, one row per workspace and host),
// the pull grants that guard the shared image cache between workspaces, and the image digest and pull
// phase on run records. Reviewed: all new columns are nullable, so existing rows need no backfill.
import { MigrationInterface, QueryRunner } from "typeorm";

export class RegistryImages1796656058387 implements MigrationInterface {
    name = 'RegistryImages1796656058387'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "image_pull_grants" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "repository" character varying(255) NOT NULL, "digest" character varying(71) NOT NULL, CONSTRAINT "PK_de418ce1b7d8f820613f3b3b124" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_5af16941318abf5a9b3a097896" ON "image_pull_grants"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_c40cd8f859632af0b4a327756d" ON "image_pull_grants"  ("workspace_id", "repository", "digest") `);
        await queryRunner.query(`CREATE TABLE "registry_credentials" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "host" character varying(255) NOT NULL, "username" character varying(255) NOT NULL, "sealed_password" text NOT NULL, "created_by" character varying(64) NOT NULL, CONSTRAINT "PK_149984aeaa8db7abe32e2221e14" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_0bc252f5235373888067be79ff" ON "registry_credentials"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_fd6e239c8e69655a8fafa6ae12" ON "registry_credentials"  ("workspace_id", "host") `);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "image_digest" character varying(71)`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "pull_started_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "pull_finished_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "sandboxes" ADD "image_digest" character varying(71)`);
        await queryRunner.query(`ALTER TABLE "image_pull_grants" ADD CONSTRAINT "FK_5af16941318abf5a9b3a0978963" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "registry_credentials" ADD CONSTRAINT "FK_0bc252f5235373888067be79ffb" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "registry_credentials" DROP CONSTRAINT "FK_0bc252f5235373888067be79ffb"`);
        await queryRunner.query(`ALTER TABLE "image_pull_grants" DROP CONSTRAINT "FK_5af16941318abf5a9b3a0978963"`);
        await queryRunner.query(`ALTER TABLE "sandboxes" DROP COLUMN "image_digest"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "pull_finished_at"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "pull_started_at"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "image_digest"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_fd6e239c8e69655a8fafa6ae12"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_0bc252f5235373888067be79ff"`);
        await queryRunner.query(`DROP TABLE "registry_credentials"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_c40cd8f859632af0b4a327756d"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_5af16941318abf5a9b3a097896"`);
        await queryRunner.query(`DROP TABLE "image_pull_grants"`);
    }

}
