// Issue 13: a workflow run keeps the digest each registry image first resolved to (reference → digest),
// so later jobs, services and reruns of the run use exactly that image. Reviewed: NOT NULL with a constant
// default, so existing runs get {} (nothing pinned) without a rewrite on PostgreSQL 11+.
import { MigrationInterface, QueryRunner } from "typeorm";

export class WorkflowRunImageDigests1796667307454 implements MigrationInterface {
    name = 'WorkflowRunImageDigests1796667307454'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_runs" ADD "image_digests" jsonb NOT NULL DEFAULT '{}'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_runs" DROP COLUMN "image_digests"`);
    }

}
