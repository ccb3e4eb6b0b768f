import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobsService } from 'src/jobs/jobs.service';
import { SandboxProfilesService } from 'src/sandboxes/sandbox-profiles.service';
import { FastApp } from './support/fast-app';


/**
 * A profile's success_exit_codes decide its one-shot job's status, and through it what the cleanup policy
 * does with the container; the catalogue is written in the predecessor's `sandboxes:` format, which the
 * server converts at boot. Service tier: real Postgres, FakeRuntime.
 */
describe('sandbox profiles: success_exit_codes and the old sandboxes: format (fast tier)', () => {
  let t: FastApp;
  let dir: string;
  let seq = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orcaops-profiles-'));
    const file = join(dir, 'sandboxes.yml');
    writeFileSync(
      file,
      [
        'sandboxes:',
        '  - name: lenient',
        '    image: orcaops/busybox',
        '    command: ["sh", "-c", "exit 1"]',
        '    success_exit_codes: [0, 1]',
        '  - name: strict',
        '    image: orcaops/busybox',
        '    command: ["sh", "-c", "exit 1"]',
        '    environment: ["MODE=strict"]',
        '  - name: web',
        '    image: orcaops/busybox',
        '    command: ["sh", "-c", "true"]',
        '    ports: {"8081/tcp": 8081}',
        '',
      ].join('\n'),
    );
    t = await FastApp.start({ ORCAOPS_SANDBOX_PROFILES: file });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const jobContainers = (jobId: string): string[] =>
    [...t.fake.containers.values()].filter((c) => c.state.labels['orcaops.job_id'] === jobId).map((c) => c.id);

  async function run(profile: string) {
    const ws = await t.workspace(`profiles-${++seq}`);
    t.fake.scriptMain(['sh', '-c', 'exit 1'], { exitCode: 1 });
    const job = await t.get(SandboxProfilesService).runProfile(ws.as.developer, profile, {});
    return t.get(JobsService).wait(ws.as.developer, job.id, 30_000);
  }

  it('loads the converted catalogue: both entries are profiles with their exit codes', () => {
    const profiles = t.get(SandboxProfilesService).listProfiles(t.org);
    expect(profiles.map((p) => [p.name, p.success_exit_codes, p.timeout_seconds])).toEqual([
      ['lenient', [0, 1], 60],
      ['strict', [0], 60],
      ['web', [0], 60],
    ]);
  });

  it('exit 1 with success_exit_codes [0, 1]: succeeded, and remove_on_completion removes the container', async () => {
    const done = await run('lenient');
    expect(done).toMatchObject({ status: 'succeeded', reason: 'completed', exit_code: 1, metadata: { success_exit_codes: '0,1' } });
    expect(jobContainers(done.id)).toEqual([]);
  });

  it('puts the profile env (from the old environment: list) into the job container', async () => {
    const done = await run('strict');
    const [id] = jobContainers(done.id);
    expect(t.fake.containers.get(id!)?.createOptions.Env).toContain('MODE=strict');
  });

  it('refuses to run a profile that declares ports (publishing is not enabled), naming the rule', async () => {
    const ws = await t.workspace(`profiles-${++seq}`);
    const refused = await t.get(SandboxProfilesService).runProfile(ws.as.developer, 'web', {}).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'policy_denied', details: { violations: [{ rule: 'ports' }] } });
  });

  it('exit 1 with the default [0]: failed, and remove_on_completion keeps the container for inspection', async () => {
    const done = await run('strict');
    expect(done).toMatchObject({ status: 'failed', reason: 'step_failed', exit_code: 1 });
    expect(jobContainers(done.id)).toHaveLength(1);
  });
});
