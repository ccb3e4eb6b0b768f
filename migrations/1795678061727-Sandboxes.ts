// Sandboxes: long-lived agent containers and their lifecycle. Generated from the entity, reviewed by hand.
import { MigrationInterface, QueryRunner } from "typeorm";

export class Sandboxes1795678061727 implements MigrationInterface {
    name = 'Sandboxes1795678061727'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "sandboxes" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(100), "status" character varying(16) NOT NULL, "exit_reason" character varying(32), "message" text, "image" character varying(256) NOT NULL, "spec" jsonb NOT NULL, "created_by" character varying(64) NOT NULL, "session_id" uuid, "container_id" character varying(80), "pooled" boolean NOT NULL DEFAULT false, "runner_id" character varying(128), "ready_at" TIMESTAMP WITH TIME ZONE, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_activity_at" TIMESTAMP WITH TIME ZONE NOT NULL, "stopped_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_460f16cb8e40f3832bb990c74f2" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_372378d4bde3c7d78153c2c37c" ON "sandboxes"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_501cebc44878110287897aa488" ON "sandboxes"  ("status") `);
        await queryRunner.query(`CREATE INDEX "IDX_42ea2a4d4a76d4a2f0099d9224" ON "sandboxes"  ("workspace_id", "created_at") `);
        await queryRunner.query(`ALTER TABLE "sandboxes" ADD CONSTRAINT "FK_372378d4bde3c7d78153c2c37c8" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "sandboxes" DROP CONSTRAINT "FK_372378d4bde3c7d78153c2c37c8"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_42ea2a4d4a76d4a2f0099d9224"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_501cebc44878110287897aa488"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_372378d4bde3c7d78153c2c37c"`);
        await queryRunner.query(`DROP TABLE "sandboxes"`);
    }

}
