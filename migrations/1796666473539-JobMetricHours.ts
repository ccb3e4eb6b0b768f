// job_metric_hours: per workspace × UTC hour × image, the counts, sums and duration/queue-wait histograms of
// the jobs submitted in that hour (issue 15, performance: a 30-day /v1/metrics aggregate reads ≤ 720 rows
// per image instead of every job). Kept by a trigger on jobs, in the transaction of every insert, update
// that changes a counted field, and delete, so it can never drift from the jobs table (bulk delete,
// retention and workspace deletion included); backfilled here from the existing jobs.
// Bins: 0 for < 1 ms, then b ≥ 1 holds [1.05^(b-1), 1.05^b) ms (src/metrics/metric-bins.ts mirrors it).
// Table generated, functions, triggers and backfill written by hand, reviewed.
import { MigrationInterface, QueryRunner } from "typeorm";

export class JobMetricHours1796666473539 implements MigrationInterface {
    name = 'JobMetricHours1796666473539'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "job_metric_hours" ("workspace_id" uuid NOT NULL, "hour" TIMESTAMP WITH TIME ZONE NOT NULL, "image" character varying(256) NOT NULL, "total" integer NOT NULL DEFAULT '0', "succeeded" integer NOT NULL DEFAULT '0', "failed" integer NOT NULL DEFAULT '0', "timed_out" integer NOT NULL DEFAULT '0', "cancelled" integer NOT NULL DEFAULT '0', "cpu_sum" double precision NOT NULL DEFAULT '0', "cpu_n" integer NOT NULL DEFAULT '0', "memory_sum" bigint NOT NULL DEFAULT '0', "memory_n" integer NOT NULL DEFAULT '0', "memory_max" bigint, "duration_bins" jsonb NOT NULL DEFAULT '{}', "wait_bins" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "PK_31f0854437a47da26de9004ef43" PRIMARY KEY ("workspace_id", "hour", "image"))`);
        await queryRunner.query(`CREATE FUNCTION job_metric_bin(ms double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN ms IS NULL THEN NULL WHEN ms < 1 THEN 0 ELSE LEAST(1 + floor(ln(ms) / ln(1.05))::integer, 599) END
$$`);
        await queryRunner.query(`CREATE FUNCTION job_metric_bins_add(bins jsonb, bin integer, n integer) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN bin IS NULL THEN bins
    WHEN COALESCE((bins ->> bin::text)::integer, 0) + n <= 0 THEN bins - bin::text
    ELSE jsonb_set(bins, ARRAY[bin::text], to_jsonb(COALESCE((bins ->> bin::text)::integer, 0) + n))
  END
$$`);
        await queryRunner.query(`CREATE FUNCTION job_metric_hours_apply(j jobs, n integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  h timestamptz := to_timestamp(floor(date_part('epoch', j.created_at) / 3600) * 3600);
  dur integer := CASE WHEN j.finished_at IS NOT NULL AND j.started_at IS NOT NULL THEN job_metric_bin(date_part('epoch', j.finished_at - j.started_at) * 1000) END;
  wait integer := CASE WHEN j.started_at IS NOT NULL THEN job_metric_bin(date_part('epoch', j.started_at - j.created_at) * 1000) END;
BEGIN
  IF n > 0 THEN
    INSERT INTO job_metric_hours AS m (workspace_id, hour, image, total, succeeded, failed, timed_out, cancelled, cpu_sum, cpu_n, memory_sum, memory_n, memory_max, duration_bins, wait_bins)
    VALUES (j.workspace_id, h, j.image, 1, (j.status = 'succeeded')::integer, (j.status = 'failed')::integer, (j.status = 'timed_out')::integer, (j.status = 'cancelled')::integer,
            COALESCE(j.cpu_seconds, 0), (j.cpu_seconds IS NOT NULL)::integer, COALESCE(j.memory_peak_bytes, 0), (j.memory_peak_bytes IS NOT NULL)::integer, j.memory_peak_bytes,
            job_metric_bins_add('{}', dur, 1), job_metric_bins_add('{}', wait, 1))
    ON CONFLICT (workspace_id, hour, image) DO UPDATE SET
      total = m.total + 1, succeeded = m.succeeded + EXCLUDED.succeeded, failed = m.failed + EXCLUDED.failed,
      timed_out = m.timed_out + EXCLUDED.timed_out, cancelled = m.cancelled + EXCLUDED.cancelled,
      cpu_sum = m.cpu_sum + EXCLUDED.cpu_sum, cpu_n = m.cpu_n + EXCLUDED.cpu_n,
      memory_sum = m.memory_sum + EXCLUDED.memory_sum, memory_n = m.memory_n + EXCLUDED.memory_n,
      memory_max = GREATEST(m.memory_max, EXCLUDED.memory_max),
      duration_bins = job_metric_bins_add(m.duration_bins, dur, 1), wait_bins = job_metric_bins_add(m.wait_bins, wait, 1);
  ELSE
    UPDATE job_metric_hours m SET
      total = m.total - 1, succeeded = m.succeeded - (j.status = 'succeeded')::integer, failed = m.failed - (j.status = 'failed')::integer,
      timed_out = m.timed_out - (j.status = 'timed_out')::integer, cancelled = m.cancelled - (j.status = 'cancelled')::integer,
      cpu_sum = m.cpu_sum - COALESCE(j.cpu_seconds, 0), cpu_n = m.cpu_n - (j.cpu_seconds IS NOT NULL)::integer,
      memory_sum = m.memory_sum - COALESCE(j.memory_peak_bytes, 0), memory_n = m.memory_n - (j.memory_peak_bytes IS NOT NULL)::integer,
      -- A max cannot be taken back: re-read it from the hour's other jobs when the leaving one held it.
      memory_max = CASE WHEN j.memory_peak_bytes IS NULL OR j.memory_peak_bytes < m.memory_max THEN m.memory_max ELSE
        (SELECT max(o.memory_peak_bytes) FROM jobs o WHERE o.workspace_id = j.workspace_id AND o.created_at >= h AND o.created_at < h + interval '1 hour' AND o.image = j.image AND o.id <> j.id) END,
      duration_bins = job_metric_bins_add(m.duration_bins, dur, -1), wait_bins = job_metric_bins_add(m.wait_bins, wait, -1)
    WHERE m.workspace_id = j.workspace_id AND m.hour = h AND m.image = j.image;
    DELETE FROM job_metric_hours m WHERE m.workspace_id = j.workspace_id AND m.hour = h AND m.image = j.image AND m.total <= 0;
  END IF;
END
$$`);
        await queryRunner.query(`CREATE FUNCTION job_metric_hours_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM job_metric_hours_apply(OLD, -1); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM job_metric_hours_apply(NEW, 1); END IF;
  RETURN NULL;
END
$$`);
        await queryRunner.query(`CREATE TRIGGER jobs_metric_hours_insert_delete AFTER INSERT OR DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION job_metric_hours_trigger()`);
        await queryRunner.query(`CREATE TRIGGER jobs_metric_hours_update AFTER UPDATE OF workspace_id, created_at, image, status, started_at, finished_at, cpu_seconds, memory_peak_bytes ON jobs FOR EACH ROW
  WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.image IS DISTINCT FROM NEW.image
        OR OLD.status IS DISTINCT FROM NEW.status OR OLD.started_at IS DISTINCT FROM NEW.started_at OR OLD.finished_at IS DISTINCT FROM NEW.finished_at
        OR OLD.cpu_seconds IS DISTINCT FROM NEW.cpu_seconds OR OLD.memory_peak_bytes IS DISTINCT FROM NEW.memory_peak_bytes)
  EXECUTE FUNCTION job_metric_hours_trigger()`);
        await queryRunner.query(`INSERT INTO job_metric_hours (workspace_id, hour, image, total, succeeded, failed, timed_out, cancelled, cpu_sum, cpu_n, memory_sum, memory_n, memory_max, duration_bins, wait_bins)
SELECT workspace_id, hour, image, count(*) AS total, count(*) FILTER (WHERE status = 'succeeded') AS succeeded, count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'timed_out') AS timed_out, count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       COALESCE(sum(cpu_seconds), 0) AS cpu_sum, count(cpu_seconds) AS cpu_n, COALESCE(sum(memory_peak_bytes), 0) AS memory_sum, count(memory_peak_bytes) AS memory_n,
       max(memory_peak_bytes) AS memory_max,
       COALESCE((SELECT jsonb_object_agg(b, c) FROM (SELECT b, count(*) AS c FROM unnest(array_agg(dur)) AS b WHERE b IS NOT NULL GROUP BY b) x), '{}') AS duration_bins,
       COALESCE((SELECT jsonb_object_agg(b, c) FROM (SELECT b, count(*) AS c FROM unnest(array_agg(wait)) AS b WHERE b IS NOT NULL GROUP BY b) x), '{}') AS wait_bins
  FROM (SELECT workspace_id, image, status, cpu_seconds, memory_peak_bytes,
               to_timestamp(floor(date_part('epoch', created_at) / 3600) * 3600) AS hour,
               CASE WHEN finished_at IS NOT NULL AND started_at IS NOT NULL THEN job_metric_bin(date_part('epoch', finished_at - started_at) * 1000) END AS dur,
               CASE WHEN started_at IS NOT NULL THEN job_metric_bin(date_part('epoch', started_at - created_at) * 1000) END AS wait
          FROM jobs) j
 GROUP BY workspace_id, hour, image`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TRIGGER jobs_metric_hours_update ON jobs`);
        await queryRunner.query(`DROP TRIGGER jobs_metric_hours_insert_delete ON jobs`);
        await queryRunner.query(`DROP FUNCTION job_metric_hours_trigger()`);
        await queryRunner.query(`DROP FUNCTION job_metric_hours_apply(jobs, integer)`);
        await queryRunner.query(`DROP FUNCTION job_metric_bins_add(jsonb, integer, integer)`);
        await queryRunner.query(`DROP FUNCTION job_metric_bin(double precision)`);
        await queryRunner.query(`DROP TABLE "job_metric_hours"`);
    }

}
