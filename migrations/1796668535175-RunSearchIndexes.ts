// Indexes for the run search filters that can match few of a workspace's runs (issue 15: every filter
// p50 ≤ 50 ms at 100 000 runs, bench/run-search.ts): reason, exit code and triggered_by next to created_at
// (newest first from the index), the image with varchar_pattern_ops (a glob's literal prefix as a range), the run time as an expression (the search's `finished_at - started_at`), and GIN over
// tags and metadata with workspace_id in front (btree_gin, installed by RunRecords) for `tags @> ARRAY[t]`
// and `metadata @> {k: v}`. Measured with EXPLAIN ANALYZE before and after (bench/README.md#run-search).
// Btree indexes generated, the rest written by hand, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class RunSearchIndexes1796668535175 implements MigrationInterface {
    name = 'RunSearchIndexes1796668535175'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX "IDX_24d42b68705089a9d4fe4dc477" ON "jobs"  ("workspace_id", "exit_code", "created_at") `);
        await queryRunner.query(`CREATE INDEX "IDX_02d393b4a34eafe8e9b2f03975" ON "jobs"  ("workspace_id", "reason", "created_at") `);
        await queryRunner.query(`CREATE INDEX "IDX_jobs_workspace_triggered_by" ON "jobs" ("workspace_id", "triggered_by", "created_at")`);
        await queryRunner.query(`CREATE INDEX "jobs_workspace_image_pattern" ON "jobs" ("workspace_id", "image" varchar_pattern_ops, "created_at")`);
        await queryRunner.query(`CREATE INDEX "jobs_workspace_duration" ON "jobs" ("workspace_id", ("finished_at" - "started_at"))`);
        await queryRunner.query(`CREATE INDEX "jobs_workspace_tags_gin" ON "jobs" USING gin ("workspace_id", "tags")`);
        await queryRunner.query(`CREATE INDEX "jobs_workspace_metadata_gin" ON "jobs" USING gin ("workspace_id", "metadata" jsonb_path_ops)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."jobs_workspace_metadata_gin"`);
        await queryRunner.query(`DROP INDEX "public"."jobs_workspace_tags_gin"`);
        await queryRunner.query(`DROP INDEX "public"."jobs_workspace_duration"`);
        await queryRunner.query(`DROP INDEX "public"."jobs_workspace_image_pattern"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_jobs_workspace_triggered_by"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_02d393b4a34eafe8e9b2f03975"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_24d42b68705089a9d4fe4dc477"`);
    }

}
