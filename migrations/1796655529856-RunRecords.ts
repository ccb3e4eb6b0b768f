// Run records (issue 15): resources (block I/O, peak pids), fingerprint, engine/runtime versions and phases on jobs,
// nullable because older rows cannot know them (phases are backfilled from the times the row has). Search: the
// (workspace, fingerprint, time) index for run history, and a pg_trgm GIN index over job output for full-text
// search (with btree_gin, workspace-first). Output is bytea; encode(data, 'escape') is an immutable text form (ASCII as is, other bytes as \ooo),
// and the search pattern is escaped the same way (src/jobs/records/log-pattern.ts).
import { MigrationInterface, QueryRunner } from "typeorm";

export class RunRecords1796655529856 implements MigrationInterface {
    name = 'RunRecords1796655529856'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "jobs" ADD "block_read_bytes" bigint`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "block_write_bytes" bigint`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "pids_peak" integer`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "fingerprint" character varying(64)`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "engine_version" character varying(64)`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "runtime_version" character varying(64)`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "phases" jsonb`);
        await queryRunner.query(`CREATE INDEX "IDX_bdae2bbd6453e03ad14e59e4ff" ON "jobs"  ("workspace_id", "fingerprint", "created_at") `);
        await queryRunner.query(`UPDATE "jobs" SET "phases" = jsonb_strip_nulls(jsonb_build_object(
            'queued_at', to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'admitted_at', to_char("started_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'finished_at', to_char("finished_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
          WHERE "status" NOT IN ('queued', 'awaiting_approval')`);
        // btree_gin puts workspace_id into the same GIN index, so one index answers "this workspace's output
        // containing X" (with the workspace btree beside it the planner would otherwise filter a workspace's every chunk).
        await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
        await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS btree_gin`);
        await queryRunner.query(`CREATE INDEX "job_log_chunks_text_trgm" ON "job_log_chunks" USING gin ("workspace_id", encode("data", 'escape') gin_trgm_ops)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        // pg_trgm and btree_gin stay installed: other objects may use it, and it holds no data.
        await queryRunner.query(`DROP INDEX "public"."job_log_chunks_text_trgm"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_bdae2bbd6453e03ad14e59e4ff"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "phases"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "runtime_version"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "engine_version"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "fingerprint"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "pids_peak"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "block_write_bytes"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "block_read_bytes"`);
    }

}
