// workflow_runs.fingerprint: sha256 of the normalised workflow and its uploaded source (issue 15 part 1).
// Nullable: runs from before it keep null (their normalised spec is kept, but the loader that made it may
// have differed, so a recomputed value could group runs that were not the same). Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class WorkflowFingerprint1796669895605 implements MigrationInterface {
    name = 'WorkflowFingerprint1796669895605'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_runs" ADD "fingerprint" character varying(64)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_runs" DROP COLUMN "fingerprint"`);
    }

}
