// jobs: a partial index on container_state = 'removing' (terminal state committed, container being removed) for the reconciler's look for removals whose runner died. Generated, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class JobsRemovingIndex1795702066878 implements MigrationInterface {
    name = 'JobsRemovingIndex1795702066878'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX "IDX_4354ffdf1949f82c060cb6cf57" ON "jobs"  ("container_state") WHERE container_state = 'removing'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."IDX_4354ffdf1949f82c060cb6cf57"`);
    }

}
