// Secrets (issue 13): workspace_secrets (tenant-owned, one name per workspace) and organisation_secrets (inherited by every
// workspace). Values are stored sealed by SecretBox (AES-256-GCM, never in clear) with the id of the key that sealed them, so
// rotate-key can re-seal what an older key sealed. Generated, reviewed: constraints and indexes as the entities declare them.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class Secrets1796655678826 implements MigrationInterface {
    name = 'Secrets1796655678826'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "organisation_secrets" ("id" uuid NOT NULL, "name" character varying(128) NOT NULL, "sealed" text NOT NULL, "key_id" character varying(32) NOT NULL, "created_by" character varying(64) NOT NULL, "updated_by" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b0a36e1f55d1accb0c35ab3e710" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_organisation_secrets_name" ON "organisation_secrets"  ("name") `);
        await queryRunner.query(`CREATE TABLE "workspace_secrets" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "name" character varying(128) NOT NULL, "sealed" text NOT NULL, "key_id" character varying(32) NOT NULL, "created_by" character varying(64) NOT NULL, "updated_by" character varying(64) NOT NULL, CONSTRAINT "PK_38684665fa35006badb1a8bb871" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_8fbc2fb18f913cfda5452b59c2" ON "workspace_secrets"  ("workspace_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_workspace_secrets_workspace_id_name" ON "workspace_secrets"  ("workspace_id", "name") `);
        await queryRunner.query(`ALTER TABLE "workspace_secrets" ADD CONSTRAINT "FK_8fbc2fb18f913cfda5452b59c26" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workspace_secrets" DROP CONSTRAINT "FK_8fbc2fb18f913cfda5452b59c26"`);
        await queryRunner.query(`DROP INDEX "public"."UQ_workspace_secrets_workspace_id_name"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_8fbc2fb18f913cfda5452b59c2"`);
        await queryRunner.query(`DROP TABLE "workspace_secrets"`);
        await queryRunner.query(`DROP INDEX "public"."UQ_organisation_secrets_name"`);
        await queryRunner.query(`DROP TABLE "organisation_secrets"`);
    }

}
