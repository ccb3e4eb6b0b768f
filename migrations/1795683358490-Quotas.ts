// Quotas: limits (organisation defaults + workspace overrides) and the daily usage ledger. Generated from
// the entities, reviewed by hand; the data steps move the pre-quota limit keys out of workspaces.settings.
import type { MigrationInterface, QueryRunner } from "typeorm";

/** Pre-quota workspace settings keys → the quota that now holds them (as in src/quotas/quota-model.ts, frozen here). */
const LEGACY: Array<[string, string]> = [
    ['max_concurrent_jobs', 'running_jobs'],
    ['max_sandboxes', 'concurrent_sandboxes'],
    ['max_sandbox_seconds_per_day', 'sandbox_seconds_per_day'],
];

export class Quotas1795683358490 implements MigrationInterface {
    name = 'Quotas1795683358490'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "quota_limits" ("id" uuid NOT NULL, "workspace_id" uuid, "quota" character varying(48) NOT NULL, "limit_value" bigint, "updated_by" character varying(64) NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8cf022023f8a5ac0922237fa166" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_quota_limits_organisation" ON "quota_limits"  ("quota") WHERE workspace_id IS NULL`);
        await queryRunner.query(`CREATE UNIQUE INDEX "UQ_quota_limits_workspace" ON "quota_limits"  ("workspace_id", "quota") WHERE workspace_id IS NOT NULL`);
        await queryRunner.query(`CREATE TABLE "quota_usage_days" ("workspace_id" uuid NOT NULL, "day" date NOT NULL, "jobs_created" integer NOT NULL DEFAULT '0', "cpu_seconds" double precision NOT NULL DEFAULT '0', CONSTRAINT "PK_df88e9839116f1573bc4c450dae" PRIMARY KEY ("workspace_id", "day"))`);
        await queryRunner.query(`ALTER TABLE "quota_limits" ADD CONSTRAINT "FK_2929dadceabc93b6ee2e729d4fc" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "quota_usage_days" ADD CONSTRAINT "FK_d7fe5c65b285684376f49919681" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        // quota_limits becomes the one place limits live: copy numeric legacy settings, then drop the keys
        // (a null or unset key meant "the default", which is what no row means).
        for (const [key, quota] of LEGACY) {
            await queryRunner.query(
                `INSERT INTO "quota_limits" ("id", "workspace_id", "quota", "limit_value", "updated_by")
                 SELECT gen_random_uuid(), "id", $2, ("settings"->>$1)::numeric::bigint, 'migration:Quotas'
                   FROM "workspaces" WHERE jsonb_typeof("settings"->$1) = 'number'`,
                [key, quota],
            );
        }
        await queryRunner.query(`UPDATE "workspaces" SET "settings" = "settings" - $1::text[] WHERE "settings" ?| $1::text[]`, [LEGACY.map(([key]) => key)]);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        // Workspace overrides of the legacy quotas go back into settings; everything else is dropped.
        for (const [key, quota] of LEGACY) {
            await queryRunner.query(
                `UPDATE "workspaces" w SET "settings" = w."settings" || jsonb_build_object($1::text, q."limit_value")
                   FROM "quota_limits" q WHERE q."workspace_id" = w."id" AND q."quota" = $2 AND q."limit_value" IS NOT NULL`,
                [key, quota],
            );
        }
        await queryRunner.query(`ALTER TABLE "quota_usage_days" DROP CONSTRAINT "FK_d7fe5c65b285684376f49919681"`);
        await queryRunner.query(`ALTER TABLE "quota_limits" DROP CONSTRAINT "FK_2929dadceabc93b6ee2e729d4fc"`);
        await queryRunner.query(`DROP TABLE "quota_usage_days"`);
        await queryRunner.query(`DROP INDEX "public"."UQ_quota_limits_workspace"`);
        await queryRunner.query(`DROP INDEX "public"."UQ_quota_limits_organisation"`);
        await queryRunner.query(`DROP TABLE "quota_limits"`);
    }

}
