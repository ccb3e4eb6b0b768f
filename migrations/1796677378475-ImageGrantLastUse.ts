// image_pull_grants.last_used_at: when a run of the workspace last resolved the image (issue 13 part 4, the
// image cache's LRU order). Existing grants start at the migration time (their first use is unknown, and
// "now" keeps the collector from removing them first). Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class ImageGrantLastUse1796677378475 implements MigrationInterface {
    name = 'ImageGrantLastUse1796677378475'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "image_pull_grants" ADD "last_used_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "image_pull_grants" DROP COLUMN "last_used_at"`);
    }

}
