// Jobs: run records, their output chunks and artifacts; the installation id. Generated from the entities, reviewed by hand.
import { MigrationInterface, QueryRunner } from "typeorm";

export class Jobs1795674352314 implements MigrationInterface {
    name = 'Jobs1795674352314'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "installation" ("singleton" boolean NOT NULL DEFAULT true, "id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_573d1dd9f210243e9aed26d9440" PRIMARY KEY ("singleton"))`);
        await queryRunner.query(`CREATE TABLE "jobs" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "status" character varying(16) NOT NULL, "reason" character varying(32), "message" text, "spec" jsonb NOT NULL, "image" character varying(256) NOT NULL, "tags" text array NOT NULL DEFAULT '{}', "intent" text, "triggered_by" character varying(64), "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, "idempotency_key" character varying(128), "request_hash" character varying(64) NOT NULL, "created_by" character varying(64) NOT NULL, "session_id" uuid, "container_id" character varying(80), "container_name" character varying(80), "runner_id" character varying(128), "heartbeat_at" TIMESTAMP WITH TIME ZONE, "cancel_requested_at" TIMESTAMP WITH TIME ZONE, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "exit_code" integer, "steps" jsonb NOT NULL DEFAULT '[]'::jsonb, "cpu_seconds" double precision, "memory_peak_bytes" bigint, "output_bytes" bigint NOT NULL DEFAULT '0', "output_truncated" boolean NOT NULL DEFAULT false, "cleanup_policy" character varying(32) NOT NULL, "container_state" character varying(16) NOT NULL DEFAULT 'none', "keep_until" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_cf0a6c42b72fcc7f7c237def345" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_58f07a7fbd5d546cc8ff788ea2" ON "jobs"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_a0c30e3eb9649fe7fbcd336a63" ON "jobs"  ("status") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_93bc1ec26c86147a8a2ca76859" ON "jobs"  ("workspace_id", "idempotency_key") WHERE idempotency_key IS NOT NULL`);
        await queryRunner.query(`CREATE INDEX "IDX_389866d9d3f531501941c6a869" ON "jobs"  ("workspace_id", "created_at") `);
        await queryRunner.query(`CREATE TABLE "job_artifacts" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "job_id" uuid NOT NULL, "name" character varying(512) NOT NULL, "size_bytes" bigint NOT NULL, "sha256" character varying(64) NOT NULL, "content_type" character varying(128) NOT NULL, "storage_key" character varying(256) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9068cb5eef4aa5559dc3b33a82c" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_67089022a93696f04cef888dea" ON "job_artifacts"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_b4541521ef00d3abbdf1e2a445" ON "job_artifacts"  ("job_id", "name") `);
        await queryRunner.query(`CREATE TABLE "job_log_chunks" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "job_id" uuid NOT NULL, "seq" integer NOT NULL, "step" integer NOT NULL, "stream" character varying(8) NOT NULL, "data" bytea NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_325f17a03a04f4112617f863b1c" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_e5337cf3ae90826422d6d81f20" ON "job_log_chunks"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_0d7d254d190ea2edc52c899726" ON "job_log_chunks"  ("job_id", "seq") `);
        await queryRunner.query(`ALTER TABLE "audit_events" ALTER COLUMN "details" SET DEFAULT '{}'::jsonb`);
        await queryRunner.query(`ALTER TABLE "workspaces" ALTER COLUMN "settings" SET DEFAULT '{}'::jsonb`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD CONSTRAINT "FK_58f07a7fbd5d546cc8ff788ea2d" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "job_artifacts" ADD CONSTRAINT "FK_3ebc279671277becf665a361266" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "job_log_chunks" ADD CONSTRAINT "FK_36c32118ac9889e17f9367b23a2" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "job_log_chunks" DROP CONSTRAINT "FK_36c32118ac9889e17f9367b23a2"`);
        await queryRunner.query(`ALTER TABLE "job_artifacts" DROP CONSTRAINT "FK_3ebc279671277becf665a361266"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP CONSTRAINT "FK_58f07a7fbd5d546cc8ff788ea2d"`);
        await queryRunner.query(`ALTER TABLE "workspaces" ALTER COLUMN "settings" SET DEFAULT '{}'`);
        await queryRunner.query(`ALTER TABLE "audit_events" ALTER COLUMN "details" SET DEFAULT '{}'`);
        await queryRunner.query(`DROP INDEX "public"."IDX_0d7d254d190ea2edc52c899726"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_e5337cf3ae90826422d6d81f20"`);
        await queryRunner.query(`DROP TABLE "job_log_chunks"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_b4541521ef00d3abbdf1e2a445"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_67089022a93696f04cef888dea"`);
        await queryRunner.query(`DROP TABLE "job_artifacts"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_389866d9d3f531501941c6a869"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_93bc1ec26c86147a8a2ca76859"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_a0c30e3eb9649fe7fbcd336a63"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_58f07a7fbd5d546cc8ff788ea2"`);
        await queryRunner.query(`DROP TABLE "jobs"`);
        await queryRunner.query(`DROP TABLE "installation"`);
    }

}
