// environments (issue 20 item 1): a sandbox plus companion services; service_containers / service_memory_mb
// hold the services' quota reservation (counted with workflow instances' in quota-usage.ts). Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class Environments1796677822922 implements MigrationInterface {
    name = 'Environments1796677822922'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "environments" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(63), "template" character varying(63), "status" character varying(16) NOT NULL, "message" text, "definition" jsonb NOT NULL, "services" jsonb NOT NULL, "events" jsonb NOT NULL, "engine_objects" jsonb NOT NULL, "sandbox_id" uuid, "service_containers" integer NOT NULL DEFAULT '0', "service_memory_mb" integer NOT NULL DEFAULT '0', "created_by" character varying(64) NOT NULL, "ttl_seconds" integer NOT NULL, "idle_timeout_seconds" integer NOT NULL, "stopped_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ec32d12469ec3c2f2f20c4f5e71" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_8dd4bba1c98194a69ed33a2760" ON "environments"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_d23339c86579ed4fd5d9eea679" ON "environments"  ("status") `);
        await queryRunner.query(`CREATE INDEX "IDX_74f4f64ee879f05ececc4e8469" ON "environments"  ("workspace_id", "created_at") `);
        await queryRunner.query(`ALTER TABLE "environments" ADD CONSTRAINT "FK_8dd4bba1c98194a69ed33a27609" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "environments" DROP CONSTRAINT "FK_8dd4bba1c98194a69ed33a27609"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_74f4f64ee879f05ececc4e8469"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_d23339c86579ed4fd5d9eea679"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_8dd4bba1c98194a69ed33a2760"`);
        await queryRunner.query(`DROP TABLE "environments"`);
    }

}
