import { Client } from 'pg';

export interface SeedRunsOptions {
  jobs: number;
  /** Log chunks per job (each a few lines of typical output). */
  chunksPerJob: number;
  /** Every `needleEvery`-th job's last chunk carries a Python traceback (the full-text search target). */
  needleEvery?: number;
  /** Jobs per INSERT statement (bounds one statement's memory). */
  batch?: number;
}

const IMAGES = ['orcaops/python:latest', 'orcaops/busybox:latest', 'orcaops/python:3.12', 'node:20'];
const STATUSES = ['succeeded', 'succeeded', 'succeeded', 'failed', 'timed_out', 'cancelled'];

/**
 * Seeds finished jobs and their output straight into the real tables (jobs, job_log_chunks) with
 * generate_series, deterministic from the row number: job n has image IMAGES[n % 4], status
 * STATUSES[n % 6], duration n % 120 s, tag `t{n % 10}`, metadata {branch: b{n % 5}}, created one minute
 * apart going back from now. Used by the search specs (hundreds of rows) and bench/run-search.ts (100 000).
 */
export async function seedRuns(databaseUrl: string, workspaceId: string, options: SeedRunsOptions): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const batch = options.batch ?? 5_000;
  const needleEvery = options.needleEvery ?? 1_000;
  try {
    for (let from = 0; from < options.jobs; from += batch) {
      const to = Math.min(options.jobs, from + batch) - 1;
      await client.query(
        `INSERT INTO jobs (id, workspace_id, created_at, status, reason, spec, image, tags, triggered_by, metadata, request_hash, created_by,
                           started_at, finished_at, exit_code, steps, cpu_seconds, memory_peak_bytes, output_bytes, cleanup_policy, container_state,
                           fingerprint, phases, block_read_bytes, block_write_bytes, pids_peak, engine_version, runtime_version)
         SELECT md5($1::text || n)::uuid, $1::uuid, now() - n * interval '1 minute', st,
                CASE st WHEN 'succeeded' THEN 'completed' WHEN 'failed' THEN 'step_failed' WHEN 'timed_out' THEN 'timeout' ELSE 'cancelled' END,
                jsonb_build_object('image', img, 'steps', jsonb_build_array(jsonb_build_object('command', 'run ' || (n % 50))), 'env', '{}'::jsonb,
                  'resources', jsonb_build_object('cpu', 1, 'memory_mb', 512, 'pids', 128, 'disk_mb', 256), 'network', 'none',
                  'timeout_seconds', 1800, 'artifacts', '[]'::jsonb, 'cleanup_policy', 'always_remove'),
                img, ARRAY['t' || (n % 10)], CASE WHEN n % 3 = 0 THEN 'mcp' ELSE 'rest' END, jsonb_build_object('branch', 'b' || (n % 5)),
                md5('r' || n), 'seed',
                now() - n * interval '1 minute' + interval '1 second', now() - n * interval '1 minute' + interval '1 second' + (n % 120) * interval '1 second',
                CASE st WHEN 'succeeded' THEN 0 WHEN 'failed' THEN 1 ELSE NULL END, '[]'::jsonb, (n % 120) * 0.5, 1048576 * (n % 64),
                $2::int * 400, 'always_remove', 'removed',
                encode(sha256(convert_to(img || (n % 50), 'UTF8')), 'hex'), '{}'::jsonb, 4096 * (n % 7), 8192 * (n % 11), 1 + n % 20, '20.10.24', 'runc 1.1.5'
           FROM generate_series($3::int, $4::int) AS n,
                LATERAL (SELECT $5::text[] AS imgs, $6::text[] AS sts) arr,
                LATERAL (SELECT arr.imgs[1 + n % 4] AS img, arr.sts[1 + n % 6] AS st) pick`,
        [workspaceId, options.chunksPerJob, from, to, IMAGES, STATUSES],
      );
      await client.query(
        `INSERT INTO job_log_chunks (id, workspace_id, job_id, seq, step, stream, data, created_at)
         SELECT md5($1::text || n || '/' || s)::uuid, $1::uuid, md5($1::text || n)::uuid, s, 0, 'stdout',
                convert_to(CASE WHEN s = $2::int AND n % $5::int = 0
                  THEN 'Traceback (most recent call last):' || chr(10) || '  File "/workspace/app.py", line ' || n || chr(10) || 'ZeroDivisionError: division by zero' || chr(10)
                  ELSE 'step ' || s || ' of job ' || n || ': collected ' || (n * s % 997) || ' items, ok ' || md5(n || '-' || s) || chr(10) END, 'UTF8'),
                now() - n * interval '1 minute'
           FROM generate_series($3::int, $4::int) AS n, generate_series(1, $2::int) AS s`,
        [workspaceId, options.chunksPerJob, from, to, needleEvery],
      );
    }
    await client.query('ANALYZE jobs');
    await client.query('ANALYZE job_log_chunks');
  } finally {
    await client.end();
  }
}
