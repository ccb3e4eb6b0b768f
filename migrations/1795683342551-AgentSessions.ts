import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Agent sessions (issue 5 item 4). jobs.session_id and sandboxes.session_id existed as unlinked columns
 * (always NULL so far): they get an index and a foreign key (ON DELETE SET NULL: work outlives a
 * session row). audit_events.session_id gets an index for the audit session filter and export; no
 * foreign key there, audit rows are append-only and never depend on other tables.
 */
export class AgentSessions1795683342551 implements MigrationInterface {
    name = 'AgentSessions1795683342551'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "agent_sessions" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "agent_type" character varying(32) NOT NULL, "name" character varying(100), "metadata" jsonb NOT NULL DEFAULT '{}', "status" character varying(16) NOT NULL, "idle_timeout_seconds" integer NOT NULL, "cleanup_on_idle" boolean NOT NULL DEFAULT true, "created_by" character varying(64) NOT NULL, "last_activity_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ended_at" TIMESTAMP WITH TIME ZONE, "end_reason" character varying(16), CONSTRAINT "PK_56f9e856ca24a6064c903044605" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_f7f9696b4bc53b5407d4177701" ON "agent_sessions"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_dd33af8f3ac036e698107a1d53" ON "agent_sessions"  ("status", "last_activity_at") `);
        await queryRunner.query(`CREATE INDEX "IDX_7c88518fa4938acdbfe9015ee5" ON "agent_sessions"  ("workspace_id", "created_at") `);
        await queryRunner.query(`CREATE INDEX "IDX_a58d6d286edcefbd61a93bad79" ON "audit_events"  ("session_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_44e3ad1191916d8d663709030c" ON "jobs"  ("session_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_9ba215857d7c6a4fbcd65c52a1" ON "sandboxes"  ("session_id") `);
        await queryRunner.query(`ALTER TABLE "agent_sessions" ADD CONSTRAINT "FK_f7f9696b4bc53b5407d41777015" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "jobs" ADD CONSTRAINT "FK_44e3ad1191916d8d663709030c8" FOREIGN KEY ("session_id") REFERENCES "agent_sessions"("id") ON DELETE SET NULL ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "sandboxes" ADD CONSTRAINT "FK_9ba215857d7c6a4fbcd65c52a1d" FOREIGN KEY ("session_id") REFERENCES "agent_sessions"("id") ON DELETE SET NULL ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "sandboxes" DROP CONSTRAINT "FK_9ba215857d7c6a4fbcd65c52a1d"`);
        await queryRunner.query(`ALTER TABLE "jobs" DROP CONSTRAINT "FK_44e3ad1191916d8d663709030c8"`);
        await queryRunner.query(`ALTER TABLE "agent_sessions" DROP CONSTRAINT "FK_f7f9696b4bc53b5407d41777015"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_9ba215857d7c6a4fbcd65c52a1"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_44e3ad1191916d8d663709030c"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_a58d6d286edcefbd61a93bad79"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_7c88518fa4938acdbfe9015ee5"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_dd33af8f3ac036e698107a1d53"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_f7f9696b4bc53b5407d4177701"`);
        await queryRunner.query(`DROP TABLE "agent_sessions"`);
    }

}
