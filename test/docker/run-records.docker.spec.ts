import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const PHASES = ['queued_at', 'admitted_at', 'image_ready_at', 'started_at', 'steps_finished_at', 'artifacts_started_at', 'artifacts_finished_at', 'finished_at'];

/** Run records are complete on real jobs on the engine (issue 15): versions, fingerprint, phases, resources. */
describe('run records on the real engine', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let dev: string;

  beforeAll(async () => {
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'records-a');
    dev = a.tokens.developer.token;
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  async function run(body: Record<string, unknown>): Promise<any> {
    const created = await api(t.app, 'POST', '/v1/jobs', { token: dev, body });
    expect(created.status).toBe(201);
    const done = await api(t.app, 'GET', `/v1/jobs/${created.body.id}/wait?timeout_seconds=120`, { token: dev });
    expect(done.status).toBe(200);
    return done.body;
  }

  it('records versions, fingerprint, every phase in order, per-step results and resources', async () => {
    const spec = {
      image: 'orcaops/busybox',
      steps: [
        // Long enough for the 1 s sampler; several processes at once for the pids peak; a file written and read back.
        { name: 'work', command: 'sleep 1.5 & sleep 1.5 & dd if=/dev/zero of=/workspace/blob bs=64k count=64 conv=fsync 2>/dev/null; wait; cat /workspace/blob > /dev/null' },
        { name: 'fail', command: 'mkdir -p out && echo r > out/r.txt && exit 3', continue_on_error: true },
      ],
      artifacts: ['out/*.txt'],
    };
    const job = await run(spec);
    expect(job).toMatchObject({ status: 'succeeded' });
    const { record, usage, steps } = job;
    expect(record.engine_version).toMatch(/^\d+\.\d+.* \(API \d+\.\d+\)$/);
    expect(record.runtime_version).toMatch(/^runc( \S+)?$/);
    expect(record.fingerprint).toMatch(/^[a-f0-9]{64}$/);
    expect(Object.keys(record.phases)).toEqual(expect.arrayContaining(PHASES));
    const times = PHASES.map((p) => Date.parse(record.phases[p]));
    expect(times.every(Number.isFinite)).toBe(true);
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(steps.map((s: any) => [s.status, s.exit_code])).toEqual([['succeeded', 0], ['failed', 3]]);
    expect(steps.every((s: any) => s.duration_ms >= 0 && s.started_at && s.finished_at)).toBe(true);
    expect(steps[0].duration_ms).toBeGreaterThanOrEqual(1400);
    // Sampled while the container ran: numbers, not "unknown" (block I/O may be 0 when the page cache absorbed it).
    expect(usage.block_read_bytes).toEqual(expect.any(Number));
    expect(usage.block_write_bytes).toEqual(expect.any(Number));
    expect(usage.pids_peak).toBeGreaterThanOrEqual(1);
    expect(usage.memory_peak_bytes).toBeGreaterThan(0);
    expect(usage.output_bytes).toEqual(expect.any(Number));
    expect(usage.output_truncated).toBe(false);

    // The same spec again (renamed steps) is the same fingerprint: search finds both runs under it.
    const again = await run({ ...spec, steps: spec.steps.map((s) => ({ ...s, name: `${s.name}-again` })) });
    expect(again.record.fingerprint).toBe(record.fingerprint);
    const found = await api(t.app, 'GET', `/v1/jobs/search?q=fingerprint:${record.fingerprint}`, { token: dev });
    expect(found.body.items.map((r: any) => r.id).sort()).toEqual([job.id, again.id].sort());
  });

  it('records the phases of a one-step job (the step is the main process) and finds its output by text', async () => {
    const job = await run({ image: 'orcaops/busybox', command: 'echo needle-$((6*7))-found; sleep 1.2' });
    expect(job.status).toBe('succeeded');
    const phases = job.record.phases;
    for (const p of ['queued_at', 'admitted_at', 'image_ready_at', 'started_at', 'steps_finished_at', 'finished_at']) expect(Date.parse(phases[p])).toEqual(expect.any(Number));
    expect(phases.artifacts_started_at).toBeUndefined();
    const found = await api(t.app, 'GET', `/v1/jobs/search?q=${encodeURIComponent('"needle-42-found"')}`, { token: dev });
    expect(found.body.items.map((r: any) => r.id)).toEqual([job.id]);
  });
});
