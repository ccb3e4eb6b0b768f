// sandbox_previews: signed preview URLs of sandbox ports (issue 20 item 2). Only the sha256 of the URL secret is
// stored; rows go with their sandbox and workspace (ON DELETE CASCADE). Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class SandboxPreviews1796677806905 implements MigrationInterface {
    name = 'SandboxPreviews1796677806905'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "sandbox_previews" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "sandbox_id" uuid NOT NULL, "port" integer NOT NULL, "secret_hash" character varying(64) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_by" character varying(64) NOT NULL, CONSTRAINT "PK_3e81952986f202cc1b6bb83c005" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_fb1096a2e423dfe4b9724b7668" ON "sandbox_previews"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_ba75ea0a3de1237046991626c5" ON "sandbox_previews"  ("workspace_id", "sandbox_id", "created_at") `);
        await queryRunner.query(`ALTER TABLE "sandbox_previews" ADD CONSTRAINT "FK_fb1096a2e423dfe4b9724b76685" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "sandbox_previews" ADD CONSTRAINT "FK_4ba911c7790b2825b3260aa9c9f" FOREIGN KEY ("sandbox_id") REFERENCES "sandboxes"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "sandbox_previews" DROP CONSTRAINT "FK_4ba911c7790b2825b3260aa9c9f"`);
        await queryRunner.query(`ALTER TABLE "sandbox_previews" DROP CONSTRAINT "FK_fb1096a2e423dfe4b9724b76685"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_ba75ea0a3de1237046991626c5"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_fb1096a2e423dfe4b9724b7668"`);
        await queryRunner.query(`DROP TABLE "sandbox_previews"`);
    }

}
