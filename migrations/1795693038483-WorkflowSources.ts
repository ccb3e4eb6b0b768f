// Workflow sources: uploaded source directories for actions/checkout, and the run that uses one (workflow_runs.source_id, no FK: retention may remove a source before its finished runs). Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class WorkflowSources1795693038483 implements MigrationInterface {
    name = 'WorkflowSources1795693038483'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "workflow_sources" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "size_bytes" bigint NOT NULL, "sha256" character varying(64) NOT NULL, "files" integer NOT NULL, "storage_key" character varying(256) NOT NULL, CONSTRAINT "PK_152534d83c910bbdd3fd6b7899c" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_ff93ac7e429ba6efc44fcf28ee" ON "workflow_sources"  ("workspace_id") `);
        await queryRunner.query(`ALTER TABLE "workflow_runs" ADD "source_id" uuid`);
        await queryRunner.query(`ALTER TABLE "workflow_sources" ADD CONSTRAINT "FK_ff93ac7e429ba6efc44fcf28eee" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_sources" DROP CONSTRAINT "FK_ff93ac7e429ba6efc44fcf28eee"`);
        await queryRunner.query(`ALTER TABLE "workflow_runs" DROP COLUMN "source_id"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_ff93ac7e429ba6efc44fcf28ee"`);
        await queryRunner.query(`DROP TABLE "workflow_sources"`);
    }

}
