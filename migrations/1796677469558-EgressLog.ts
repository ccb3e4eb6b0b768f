// egress_events (the durable egress decision log) and egress_usage_days (the daily egress byte counter),
// issue 14. New tables, so no old rows. Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class EgressLog1796677469558 implements MigrationInterface {
    name = 'EgressLog1796677469558'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "egress_events" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "at" TIMESTAMP WITH TIME ZONE NOT NULL, "subject_kind" character varying(16) NOT NULL, "subject_id" uuid NOT NULL, "method" character varying(8) NOT NULL, "host" character varying(255) NOT NULL, "address" character varying(64), "port" integer NOT NULL, "decision" character varying(8) NOT NULL, "rule" text NOT NULL, "bytes_up" bigint NOT NULL, "bytes_down" bigint NOT NULL, "duration_ms" integer NOT NULL, CONSTRAINT "PK_a1e684a75bd6c286190289f6211" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_c4bf2c1f7d99346b897b9da5ba" ON "egress_events"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_f51718d4a773010a21d8f9a12d" ON "egress_events"  ("workspace_id", "subject_id", "at") `);
        await queryRunner.query(`CREATE INDEX "IDX_e8419236ed64107bd05ed37da5" ON "egress_events"  ("workspace_id", "at") `);
        await queryRunner.query(`CREATE TABLE "egress_usage_days" ("workspace_id" uuid NOT NULL, "day" date NOT NULL, "bytes" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_7371bf1522e4adde465ee780897" PRIMARY KEY ("workspace_id", "day"))`);
        await queryRunner.query(`ALTER TABLE "egress_events" ADD CONSTRAINT "FK_c4bf2c1f7d99346b897b9da5ba4" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "egress_usage_days" ADD CONSTRAINT "FK_89980ba4872ffdfe3539257a56e" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "egress_usage_days" DROP CONSTRAINT "FK_89980ba4872ffdfe3539257a56e"`);
        await queryRunner.query(`ALTER TABLE "egress_events" DROP CONSTRAINT "FK_c4bf2c1f7d99346b897b9da5ba4"`);
        await queryRunner.query(`DROP TABLE "egress_usage_days"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_e8419236ed64107bd05ed37da5"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_f51718d4a773010a21d8f9a12d"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_c4bf2c1f7d99346b897b9da5ba"`);
        await queryRunner.query(`DROP TABLE "egress_events"`);
    }

}
