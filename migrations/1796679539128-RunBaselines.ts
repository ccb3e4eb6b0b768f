// run_baselines: the rolling statistics of each recurring run per workspace (issue 16 part 1; src/learning). One
// row per (workspace, fingerprint), updated in place when a run of it finishes. Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class RunBaselines1796679539128 implements MigrationInterface {
    name = 'RunBaselines1796679539128'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "run_baselines" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "fingerprint" text NOT NULL, "runs" integer NOT NULL DEFAULT '0', "succeeded" integer NOT NULL DEFAULT '0', "failed" integer NOT NULL DEFAULT '0', "success_ewma" double precision, "duration_samples" integer NOT NULL DEFAULT '0', "duration_ewma_ms" double precision, "duration_sketch" bytea, "memory_samples" integer NOT NULL DEFAULT '0', "memory_ewma_bytes" double precision, "memory_sketch" bytea, "cpu_samples" integer NOT NULL DEFAULT '0', "cpu_ewma_seconds" double precision, "cpu_sketch" bytea, "last_run_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_54561dd21a2f5a005e37d835659" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_120d4b82165d11714facece087" ON "run_baselines"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_3113a2664bc029d47910f3dec0" ON "run_baselines"  ("workspace_id", "fingerprint") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."IDX_3113a2664bc029d47910f3dec0"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_120d4b82165d11714facece087"`);
        await queryRunner.query(`DROP TABLE "run_baselines"`);
    }

}
