// image_builds: workspace image builds from a Dockerfile (issue 13 part 3): status, masked capped log, the
// image id and size. Workspace-owned (NOT NULL workspace_id, cascade with the workspace). Generated, reviewed.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class ImageBuilds1796677609252 implements MigrationInterface {
    name = 'ImageBuilds1796677609252'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "image_builds" ("id" uuid NOT NULL, "workspace_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "image" character varying(255) NOT NULL, "name" character varying(128) NOT NULL, "tag" character varying(128) NOT NULL, "dockerfile" character varying(255) NOT NULL, "status" character varying(16) NOT NULL, "context_bytes" integer NOT NULL, "digest" character varying(80), "size_bytes" bigint, "log" text NOT NULL DEFAULT '', "log_truncated" boolean NOT NULL DEFAULT false, "error" text, "created_by" character varying(64) NOT NULL, "runner" character varying(36) NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_38b2fdec36bb5c81566df04f3ed" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "IDX_3d8c81ada1d3bcbd06a808e92b" ON "image_builds"  ("workspace_id") `);
        await queryRunner.query(`CREATE INDEX "IDX_e6c0361d2124bc92e4e581aaa7" ON "image_builds"  ("workspace_id", "created_at") `);
        await queryRunner.query(`ALTER TABLE "image_builds" ADD CONSTRAINT "FK_3d8c81ada1d3bcbd06a808e92b8" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "image_builds" DROP CONSTRAINT "FK_3d8c81ada1d3bcbd06a808e92b8"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_e6c0361d2124bc92e4e581aaa7"`);
        await queryRunner.query(`DROP INDEX "public"."IDX_3d8c81ada1d3bcbd06a808e92b"`);
        await queryRunner.query(`DROP TABLE "image_builds"`);
    }

}
