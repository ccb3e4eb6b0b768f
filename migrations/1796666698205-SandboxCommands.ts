// sandbox_commands: the command history of sandboxes (one row per exec or shell command, written when it ends;
// issue 15 part 1). New table, so no old rows. Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class SandboxCommands1796666698205 implements MigrationInterface {
    name = 'SandboxCommands1796666698205'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "sandbox_commands" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "sandbox_id" uuid NOT NULL, "kind" character varying(8) NOT NULL, "shell" character varying(64), "command" text NOT NULL, "command_truncated" boolean NOT NULL DEFAULT false, "status" character varying(16) NOT NULL, "reason" character varying(32), "exit_code" integer, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE NOT NULL, "duration_ms" integer NOT NULL, "stdout_bytes" bigint NOT NULL, "stderr_bytes" bigint NOT NULL, "output_truncated" boolean NOT NULL DEFAULT false, "created_by" character varying(64) NOT NULL, CONSTRAINT "PK_1b50fbe4e1fa3b26365ee9aa5e1" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_90c723dc39162fa1e2470225f5" ON "sandbox_commands"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_3ca4ce58a406e85557064c5a58" ON "sandbox_commands"  ("workspace_id", "sandbox_id", "started_at", "id") `);
        await queryRunner.query(`ALTER TABLE "sandbox_commands" ADD CONSTRAINT "FK_90c723dc39162fa1e2470225f50" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "sandbox_commands" ADD CONSTRAINT "FK_0ceca19c6519c8a84bf32cab83b" FOREIGN KEY ("sandbox_id") REFERENCES "sandboxes"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "sandbox_commands" DROP CONSTRAINT "FK_0ceca19c6519c8a84bf32cab83b"`);
        await queryRunner.query(`ALTER TABLE "sandbox_commands" DROP CONSTRAINT "FK_90c723dc39162fa1e2470225f50"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_3ca4ce58a406e85557064c5a58"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_90c723dc39162fa1e2470225f5"`);
        await queryRunner.query(`DROP TABLE "sandbox_commands"`);
    }

}
