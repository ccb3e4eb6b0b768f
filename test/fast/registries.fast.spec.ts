import { DataSource } from 'typeorm';
import { JobsService } from 'src/jobs/jobs.service';
import { PoliciesService } from 'src/policies/policies.service';
import { ImagePuller } from 'src/registries/image-puller.service';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import type { FastWorkspace } from './support/fast-app';
import { FastApp } from './support/fast-app';

const REG = 'reg.test:5000';
const PRIVATE = 'private.test:5000';
const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const PASSWORD = 'pa55-w0rd-never-shown';

/**
 * Images from registries through JobsService on the fake engine's fake registry: the policy decides
 * before any engine call, pulls are shared, typed failures, digests on the record, and the shared image
 * cache does not leak a privately pulled image to another workspace.
 */
describe('registry images (fast tier)', () => {
  let t: FastApp;
  let jobs: JobsService;
  let seq = 0;

  beforeAll(async () => {
    t = await FastApp.start();
    jobs = t.get(JobsService);
    await t.get(PoliciesService).setOrganisation(t.org, { images: { registries: [REG, PRIVATE, 'down.test'] } });
    t.fake.registry.set(`${REG}/team/app:v1`, { digest: digest('a'), sizeBytes: 5 * 1024 * 1024 });
    t.fake.registry.set(`${REG}/team/shared:v1`, { digest: digest('b'), sizeBytes: 1024 });
    t.fake.registry.set(`${REG}/team/late:v1`, { digest: digest('d'), sizeBytes: 1024 });
    t.fake.registry.set(`${PRIVATE}/secret/app:v1`, { digest: digest('c'), sizeBytes: 1024, auth: { username: 'ci', password: PASSWORD } });
  });
  afterAll(() => t?.close());

  const workspace = (): Promise<FastWorkspace> => t.workspace(`reg-${++seq}`);
  const pulls = (reference?: string): number => t.fake.callsOf('pullImage').filter((args) => !reference || args[0] === reference).length;
  // A container's main process runs until killed unless scripted: each job's `true` exits 0.
  const scriptTrue = (): void => void t.fake.scriptMain(['/bin/sh', '-c', 'true'], { exitCode: 0 });
  const run = async (ws: FastWorkspace, image: string, extra: Record<string, unknown> = {}) => {
    scriptTrue();
    const { job } = await jobs.submit(ws.as.developer, { image, command: 'true', ...extra });
    return jobs.wait(ws.as.developer, job.id, 30_000);
  };

  it('pulls a registry image, records its digest and pull phase, and runs the container pinned to the digest', async () => {
    const ws = await workspace();
    const done = await run(ws, `${REG}/team/app:v1`);
    expect(done).toMatchObject({ status: 'succeeded', image: `${REG}/team/app:v1`, image_digest: digest('a'), pull_policy: 'if_not_present' });
    expect(done.pull_started_at).not.toBeNull();
    expect(Date.parse(done.pull_finished_at!)).toBeGreaterThanOrEqual(Date.parse(done.pull_started_at!));
    const created = t.fake.callsOf('createContainer').map((args) => (args[0] as { image: string }).image);
    expect(created).toContain(`${REG}/team/app@${digest('a')}`);
    const logs = await jobs.readLogs(ws.as.viewer, done.id, {});
    expect(logs.items.map((c) => c.data).join('')).toContain(`pulling ${REG}/team/app:v1`);
    // Present now and granted to this workspace: the next run does not pull.
    const before = pulls();
    expect((await run(ws, `${REG}/team/app:v1`)).image_digest).toBe(digest('a'));
    expect(pulls()).toBe(before);
  });

  it('shares one pull among 10 concurrent jobs on a missing image', async () => {
    const ws = await workspace();
    let release = (): void => undefined;
    t.fake.pullGate = new Promise((resolve) => (release = resolve));
    try {
      for (let i = 0; i < 10; i += 1) scriptTrue();
      const submitted = await Promise.all(Array.from({ length: 10 }, () => jobs.submit(ws.as.developer, { image: `${REG}/team/shared:v1`, command: 'true' })));
      // Every job that runs while the pull is held waits for the same pull.
      await waitFor(() => pulls(`${REG}/team/shared:v1`) >= 1);
      release();
      const done = await Promise.all(submitted.map(({ job }) => jobs.wait(ws.as.developer, job.id, 60_000)));
      expect(done.map((j) => j.status)).toEqual(Array(10).fill('succeeded'));
      expect(pulls(`${REG}/team/shared:v1`)).toBe(1);
    } finally {
      t.fake.pullGate = undefined;
      release();
    }
  });

  it('does not pull again for a request that finds the image after the pull but before the workspace’s grant is written', async () => {
    // CI once saw 2 pulls for 10 jobs: a job that started between the end of the shared pull and the
    // grant of the first waiter found the image on the engine without a grant, and pulled it again.
    const ws = await workspace();
    const image = `${REG}/team/late:v1`;
    const puller = t.get(ImagePuller);
    let releasePull = (): void => undefined;
    let releaseInspect = (): void => undefined;
    let reachedInspect = (): void => undefined;
    const inspectHeld = new Promise<void>((resolve) => (releaseInspect = resolve));
    const atInspect = new Promise<void>((resolve) => (reachedInspect = resolve));
    let holdNextInspect = false;
    const inspect = t.fake.inspectImage.bind(t.fake);
    const spy = jest.spyOn(t.fake, 'inspectImage').mockImplementation(async (reference) => {
      if (holdNextInspect) {
        holdNextInspect = false;
        reachedInspect();
        await inspectHeld;
      }
      return inspect(reference);
    });
    t.fake.pullGate = new Promise((resolve) => (releasePull = resolve));
    try {
      const first = puller.ensure(ws.id, image);
      await waitFor(() => pulls(image) === 1);
      // The first request's look at the pulled image (before its grant) is held: the engine has the image now.
      holdNextInspect = true;
      releasePull();
      await atInspect;
      const second = puller.ensure(ws.id, image);
      // The second request has seen the image on the engine; give its grant lookup a database round trip.
      await waitFor(() => t.fake.callsOf('inspectImage').filter((args) => args[0] === image).length >= 2);
      await t.get(DataSource).query('SELECT 1');
      releaseInspect();
      const [a, b] = await Promise.all([first, second]);
      expect(a.digest).toBe(digest('d'));
      expect(b.digest).toBe(digest('d'));
      expect(pulls(image)).toBe(1);
    } finally {
      spy.mockRestore();
      t.fake.pullGate = undefined;
      releasePull();
      releaseInspect();
    }
  });

  it('refuses a registry the policy does not allow at submit, before any engine call', async () => {
    const ws = await workspace();
    const before = t.fake.calls.length;
    await expect(jobs.submit(ws.as.developer, { image: 'evil.test/x:1', command: 'true' })).rejects.toMatchObject({ code: 'policy_denied' });
    expect(t.fake.calls.length).toBe(before);
  });

  it('fails typed: unknown tag, unreachable registry (after retries), too large', async () => {
    const ws = await workspace();
    const unknown = await run(ws, `${REG}/team/app:nope`);
    expect(unknown).toMatchObject({ status: 'failed', reason: 'image_pull_failed' });
    expect(unknown.message).toContain('(not_found)');
    t.fake.unreachableRegistries.add('down.test');
    const down = await run(ws, 'down.test/x:1');
    expect(down.message).toContain('(registry_unreachable)');
    expect(pulls('down.test/x:1')).toBe(3);
    await t.get(PoliciesService).setWorkspace(ws.as.admin, ws.id, { images: { max_size_mb: 1 } });
    const large = await run(ws, `${REG}/team/app:v1`);
    expect(large.message).toContain('(too_large)');
  });

  it('pulls a private image only with the workspace’s own credentials, and never lends it to another workspace', async () => {
    const [a, b] = [await workspace(), await workspace()];
    const image = `${PRIVATE}/secret/app:v1`;
    expect((await run(a, image)).message).toContain('(unauthorized)');
    const credentials = t.get(RegistryCredentialsService);
    await credentials.put(a.as.admin, { host: PRIVATE, username: 'ci', password: 'wrong' });
    expect((await run(a, image)).message).toContain('(unauthorized)');
    const stored = await credentials.put(a.as.admin, { host: PRIVATE, username: 'ci', password: PASSWORD });
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    expect(await run(a, image)).toMatchObject({ status: 'succeeded', image_digest: digest('c') });
    // The image is on the engine now; B has no grant and no credentials: its own pull is refused.
    const crossPulls = pulls(image);
    expect((await run(b, image)).message).toContain('(unauthorized)');
    expect(pulls(image)).toBe(crossPulls + 1);
    expect((await run(b, image, { pull_policy: 'never' })).message).toContain('(unauthorized)');
    expect(pulls(image)).toBe(crossPulls + 1);
    // Nothing stored or audited in clear.
    const rows: unknown[] = await t.get(DataSource).query('SELECT * FROM registry_credentials');
    const audit: unknown[] = await t.get(DataSource).query("SELECT * FROM audit_events WHERE action LIKE 'registry_credential.%'");
    expect(audit.map((r) => (r as { action: string }).action).sort()).toEqual(['registry_credential.create', 'registry_credential.update']);
    expect(JSON.stringify([rows, audit, await credentials.list(a.as.admin)])).not.toContain(PASSWORD);
    await expect(credentials.list(b.as.developer)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(credentials.remove(b.as.admin, stored.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(credentials.put(a.as.admin, { host: 'https://x/y', username: 'u', password: 'p' })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it("runs a workspace's built image only in that workspace: any other answers as for a missing image, under any reference", async () => {
    const [owner, other] = [await workspace(), await workspace()];
    const name = `orcaops-ws-${owner.id.replace(/-/g, '').slice(0, 12)}/tools:v1`;
    t.fake.addImage(name, { labels: { 'orcaops.workspace': owner.id, 'orcaops.image-kind': 'build', 'orcaops.build-id': 'b1' } });
    expect(await run(owner, name)).toMatchObject({ status: 'succeeded', image_digest: null });
    const foreign = await run(other, name);
    const missing = await run(other, name.replace('tools', 'absent'));
    expect(foreign).toMatchObject({ status: 'failed', reason: 'image_not_found' });
    expect(foreign.message?.replace('tools', 'X')).toBe(missing.message?.replace('absent', 'X'));
    // Through the warm pool's check another workspace gets nothing either; nothing is pulled.
    await expect(t.get(ImagePuller).usableWithoutPull(other.id, name)).rejects.toMatchObject({ code: 'image_not_found' });
    expect(await t.get(ImagePuller).usableWithoutPull(owner.id, name)).toMatchObject({ digest: null });
    expect(pulls(name)).toBe(0);
  });

  describe('sandboxes (same ImagePuller path)', () => {
    const SANDBOX_IMAGE = `${PRIVATE}/secret/sandbox:v1`;
    beforeAll(() => t.fake.registry.set(SANDBOX_IMAGE, { digest: digest('d'), sizeBytes: 1024, auth: { username: 'ci', password: PASSWORD } }));

    it('creates a sandbox from a private image with the workspace’s credentials: digest and pull line on it, container pinned', async () => {
      const ws = await workspace();
      await t.get(RegistryCredentialsService).put(ws.as.admin, { host: PRIVATE, username: 'ci', password: PASSWORD });
      const sandbox = await t.get(SandboxesService).create(ws.as.developer, { image: SANDBOX_IMAGE });
      expect(sandbox).toMatchObject({ status: 'ready', image: SANDBOX_IMAGE, image_digest: digest('d'), pull_policy: 'if_not_present' });
      expect(sandbox.message).toContain(`pulling ${SANDBOX_IMAGE}`);
      const created = t.fake.callsOf('createContainer').map((args) => (args[0] as { image: string }).image);
      expect(created).toContain(`${PRIVATE}/secret/sandbox@${digest('d')}`);
      await t.get(SandboxesService).delete(ws.as.developer, sandbox.id);
    });

    it('refuses the image to another workspace without credentials (typed, sandbox failed), and with pull_policy never', async () => {
      const owner = await workspace();
      await t.get(RegistryCredentialsService).put(owner.as.admin, { host: PRIVATE, username: 'ci', password: PASSWORD });
      const mine = await t.get(SandboxesService).create(owner.as.developer, { image: SANDBOX_IMAGE });
      const other = await workspace();
      await expect(t.get(SandboxesService).create(other.as.developer, { image: SANDBOX_IMAGE })).rejects.toMatchObject({ code: 'image_pull_failed', details: { reason: 'unauthorized' } });
      await expect(t.get(SandboxesService).create(other.as.developer, { image: SANDBOX_IMAGE, pull_policy: 'never' })).rejects.toMatchObject({
        code: 'image_pull_failed',
        details: { reason: 'unauthorized' },
      });
      const listed = await t.get(SandboxesService).list(other.as.developer, { labels: [], limit: 10 });
      expect(listed.items.map((s) => [s.status, s.exit_reason])).toEqual([
        ['failed', 'image_pull_failed'],
        ['failed', 'image_pull_failed'],
      ]);
      await t.get(SandboxesService).delete(owner.as.developer, mine.id);
    });

    it('refuses a registry the policy does not allow before any engine call', async () => {
      const ws = await workspace();
      const before = t.fake.calls.length;
      await expect(t.get(SandboxesService).create(ws.as.developer, { image: 'evil.test/x:1' })).rejects.toMatchObject({ code: 'policy_denied' });
      expect(t.fake.calls.length).toBe(before);
    });
  });
});

async function waitFor(condition: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
