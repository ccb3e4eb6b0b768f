// Policies and approvals (issue 5): policy tables, approval requests, and jobs that wait for approval (status awaiting_approval, jobs.approval). Generated from the entities, reviewed by hand.
import { MigrationInterface, QueryRunner } from "typeorm";

export class Policies1795684255132 implements MigrationInterface {
    name = 'Policies1795684255132'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "approval_requests" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "status" character varying(16) NOT NULL, "resource_type" character varying(32) NOT NULL, "resource_id" uuid NOT NULL, "requested_by" character varying(64) NOT NULL, "reasons" jsonb NOT NULL, "summary" jsonb NOT NULL DEFAULT '{}', "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "decided_by" character varying(64), "decided_at" TIMESTAMP WITH TIME ZONE, "comment" text, CONSTRAINT "PK_484806bb8ff331b851fc75973c0" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_c420977c73f1124648491fbf88" ON "approval_requests"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_3b4e871ad076f82f1bdf191c3d" ON "approval_requests"  ("status", "expires_at") `);
        await queryRunner.query(`CREATE INDEX "IDX_f309eec65f34422e968bf875b3" ON "approval_requests"  ("workspace_id", "status", "created_at") `);
        await queryRunner.query(`CREATE TABLE "organisation_policy" ("singleton" boolean NOT NULL DEFAULT true, "document" jsonb NOT NULL DEFAULT '{}', "updated_by" character varying(64) NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_23a43b4299352b9547de6e6660b" PRIMARY KEY ("singleton"))`);
        await queryRunner.query(`CREATE TABLE "workspace_policies" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "document" jsonb NOT NULL DEFAULT '{}', "updated_by" character varying(64) NOT NULL, CONSTRAINT "PK_c5460b52d5f259f0f00910d35b5" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_0cc8fb9246ae59057369d06f25" ON "workspace_policies"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_workspace_policies_workspace_id" ON "workspace_policies"  ("workspace_id") `);
        await queryRunner.query(`ALTER TABLE "jobs" ADD "approval" jsonb`);
        // Reviewed: widened in place (the generator drops and re-adds the column, which would lose every status).
        await queryRunner.query(`ALTER TABLE "jobs" ALTER COLUMN "status" TYPE character varying(24)`);
        await queryRunner.query(`ALTER TABLE "approval_requests" ADD CONSTRAINT "FK_c420977c73f1124648491fbf88a" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "workspace_policies" ADD CONSTRAINT "FK_0cc8fb9246ae59057369d06f25c" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workspace_policies" DROP CONSTRAINT "FK_0cc8fb9246ae59057369d06f25c"`);
        await queryRunner.query(`ALTER TABLE "approval_requests" DROP CONSTRAINT "FK_c420977c73f1124648491fbf88a"`);
        // Jobs still waiting for approval cannot fit the old width: they end as cancelled first.
        await queryRunner.query(`UPDATE "jobs" SET "status" = 'cancelled', "reason" = 'cancelled', "finished_at" = now() WHERE "status" = 'awaiting_approval'`);
        await queryRunner.query(`ALTER TABLE "jobs" ALTER COLUMN "status" TYPE character varying(16)`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP COLUMN "approval"`);
        await queryRunner.query(`DROP INDEX "public"."UQ_workspace_policies_workspace_id"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_0cc8fb9246ae59057369d06f25"`);
        await queryRunner.query(`DROP TABLE "workspace_policies"`);
        await queryRunner.query(`DROP TABLE "organisation_policy"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_f309eec65f34422e968bf875b3"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_3b4e871ad076f82f1bdf191c3d"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_c420977c73f1124648491fbf88"`);
        await queryRunner.query(`DROP TABLE "approval_requests"`);
    }

}
