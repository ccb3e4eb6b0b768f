// workflow_instances: the service containers (and their memory limit, MiB) a running attempt reserved at admission, released at
// teardown; quotas workflow_service_containers and workflow_service_memory_mb sum them over running instances. Written by hand
// (two plain columns), checked by the drift spec.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class WorkflowServiceReservations1796646652706 implements MigrationInterface {
    name = 'WorkflowServiceReservations1796646652706'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_instances" ADD "service_containers" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "workflow_instances" ADD "service_memory_mb" integer NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "workflow_instances" DROP COLUMN "service_memory_mb"`);
        await queryRunner.query(`ALTER TABLE "workflow_instances" DROP COLUMN "service_containers"`);
    }

}
