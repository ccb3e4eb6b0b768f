// Workflows: runs and their job instances (the runner's journal for resume). Generated from the entities, reviewed by hand.
import { MigrationInterface, QueryRunner } from "typeorm";

export class Workflows1795685437617 implements MigrationInterface {
    name = 'Workflows1795685437617'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "workflow_runs" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(256) NOT NULL, "file" character varying(256) NOT NULL, "source" text NOT NULL, "spec" jsonb NOT NULL, "inputs" jsonb NOT NULL DEFAULT '{}', "env_overrides" jsonb NOT NULL DEFAULT '{}', "context" jsonb NOT NULL, "job_states" jsonb NOT NULL DEFAULT '{}', "max_parallel" integer NOT NULL, "status" character varying(16) NOT NULL, "conclusion" character varying(16), "cancelled_by" character varying(16), "warnings" text array NOT NULL DEFAULT '{}', "created_by" character varying(64) NOT NULL, "runner_id" character varying(128), "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_eea9f8d0a660b3f48114c313233" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_05e13261a4bb3b2a8ef80d9499" ON "workflow_runs"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_043a902b25faa1ff76a96f56e7" ON "workflow_runs"  ("status") `);
        await queryRunner.query(`CREATE INDEX "IDX_d16627b2f3dde07d76b8316236" ON "workflow_runs"  ("workspace_id", "created_at") `);
        await queryRunner.query(`CREATE TABLE "workflow_instances" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "run_id" uuid NOT NULL, "instance_key" text NOT NULL, "workflow_job" character varying(128) NOT NULL, "hash" character varying(16) NOT NULL, "matrix_index" integer NOT NULL, "display_name" character varying(512) NOT NULL, "matrix" jsonb NOT NULL DEFAULT '{}', "image" character varying(256), "status" character varying(16) NOT NULL, "outcome" character varying(16), "conclusion" character varying(16), "reason" character varying(32), "message" text, "outputs" jsonb NOT NULL DEFAULT '{}', "attempt" integer NOT NULL DEFAULT '0', "job_id" uuid, "attempts" jsonb NOT NULL DEFAULT '[]', "step_state" jsonb, "cancel_requested" character varying(32), "stop_sent" boolean NOT NULL DEFAULT false, "queued_at" TIMESTAMP WITH TIME ZONE, "retry_at" TIMESTAMP WITH TIME ZONE, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_90cc94e44ff8b7b7869f50e4fc4" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_ef402b18337e53742b27999758" ON "workflow_instances"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_b6ae197cf7f7847e5359c7267e" ON "workflow_instances"  ("job_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "IDX_7a55a5e65008318e50d96fe7a9" ON "workflow_instances"  ("run_id", "instance_key") `);
        await queryRunner.query(`ALTER TABLE "workflow_runs" ADD CONSTRAINT "FK_05e13261a4bb3b2a8ef80d9499a" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "workflow_instances" ADD CONSTRAINT "FK_803c4a07dd6baea807529d27257" FOREIGN KEY ("run_id") REFERENCES "workflow_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_instances" DROP CONSTRAINT "FK_803c4a07dd6baea807529d27257"`);
        await queryRunner.query(`ALTER TABLE "workflow_runs" DROP CONSTRAINT "FK_05e13261a4bb3b2a8ef80d9499a"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_7a55a5e65008318e50d96fe7a9"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_b6ae197cf7f7847e5359c7267e"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_ef402b18337e53742b27999758"`);
        await queryRunner.query(`DROP TABLE "workflow_instances"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_d16627b2f3dde07d76b8316236"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_043a902b25faa1ff76a96f56e7"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_05e13261a4bb3b2a8ef80d9499"`);
        await queryRunner.query(`DROP TABLE "workflow_runs"`);
    }

}
