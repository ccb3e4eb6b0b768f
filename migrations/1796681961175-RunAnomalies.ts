// run_anomalies: runs far outside their baseline (issue 16 part 2; src/learning), with evidence and an admin-set
// state. The (workspace, state, created_at) index serves the newest-first list filtered by state. Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class RunAnomalies1796681961175 implements MigrationInterface {
    name = 'RunAnomalies1796681961175'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "run_anomalies" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "fingerprint" text NOT NULL, "job_id" uuid, "kind" character varying(32) NOT NULL, "severity" character varying(16) NOT NULL, "state" character varying(16) NOT NULL DEFAULT 'open', "evidence" jsonb NOT NULL, "state_changed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_c5441aed94742c5c5dc9410d1c6" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_f98b1a68329f651a45017f71a4" ON "run_anomalies"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_fcd2b844e60a400c021c1f6038" ON "run_anomalies"  ("workspace_id", "state", "created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."IDX_fcd2b844e60a400c021c1f6038"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_f98b1a68329f651a45017f71a4"`);
        await queryRunner.query(`DROP TABLE "run_anomalies"`);
    }

}
