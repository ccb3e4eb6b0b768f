// job_summaries: one row per finished job (its one-line summary, excerpt, suggestion), its own table (issue 15 part 3);
// rows of older jobs are written on their first read. Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class JobSummaries1796656773594 implements MigrationInterface {
    name = 'JobSummaries1796656773594'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "job_summaries" ("job_id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "kind" character varying(32) NOT NULL, "summary" character varying(320) NOT NULL, "error_line" integer, "excerpt" jsonb NOT NULL, "suggestion" text, "analysed_bytes" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_459f4d99e92e01b05b6964c8e5c" PRIMARY KEY ("job_id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_e2e3f4b821b646ae552558caed" ON "job_summaries"  ("workspace_id") `);
        await queryRunner.query(`ALTER TABLE "job_summaries" ADD CONSTRAINT "FK_459f4d99e92e01b05b6964c8e5c" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "job_summaries" DROP CONSTRAINT "FK_459f4d99e92e01b05b6964c8e5c"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_e2e3f4b821b646ae552558caed"`);
        await queryRunner.query(`DROP TABLE "job_summaries"`);
    }

}
