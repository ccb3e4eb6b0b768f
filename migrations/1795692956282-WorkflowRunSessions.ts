// Workflow runs carry the agent session they were submitted in (issue 7): a nullable session_id like
// jobs.session_id (SET NULL when the session row goes), indexed for the session view, cleanup and the list filter.
// Generated from the entity, reviewed by hand; nullable, so existing runs need no backfill.
import { MigrationInterface, QueryRunner } from "typeorm";

export class WorkflowRunSessions1795692956282 implements MigrationInterface {
    name = 'WorkflowRunSessions1795692956282'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_runs" ADD "session_id" uuid`);
        await queryRunner.query(`CREATE INDEX "IDX_132f0b7e692eed3ec5987cdbaa" ON "workflow_runs"  ("session_id") `);
        await queryRunner.query(`ALTER TABLE "workflow_runs" ADD CONSTRAINT "FK_132f0b7e692eed3ec5987cdbaa9" FOREIGN KEY ("session_id") REFERENCES "agent_sessions"("id") ON DELETE SET NULL ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_runs" DROP CONSTRAINT "FK_132f0b7e692eed3ec5987cdbaa9"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_132f0b7e692eed3ec5987cdbaa"`);
        await queryRunner.query(`ALTER TABLE "workflow_runs" DROP COLUMN "session_id"`);
    }

}
