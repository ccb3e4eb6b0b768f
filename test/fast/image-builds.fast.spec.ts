import { packEntries } from 'src/common/hostile-tar';
import { ImageBuildsService } from 'src/image-builds/image-builds.service';
import { SecretsService } from 'src/secrets/secrets.service';
import type { FastWorkspace } from './support/fast-app';
import { FastApp } from './support/fast-app';

/**
 * ImageBuildsService on the fake engine: admission refusals before any engine call, the build record
 * and its masked log followed to the end, a failed step, another workspace answered as for a missing
 * build, and delete removing the image. The real builder is in test/docker/image-builds.docker.spec.ts.
 */
describe('image builds (fast tier)', () => {
  let t: FastApp;
  let builds: ImageBuildsService;
  let seq = 0;

  beforeAll(async () => {
    t = await FastApp.start();
    builds = t.get(ImageBuildsService);
    t.fake.addImage('orcaops/busybox');
  });
  afterAll(() => t?.close());

  const workspace = (): Promise<FastWorkspace> => t.workspace(`build-${++seq}`);
  const tar = (dockerfile: string): Promise<Buffer> => packEntries([{ name: 'Dockerfile', type: 'file', mode: 0o644, mtime: new Date(0), data: Buffer.from(dockerfile) }]);
  const follow = async (ws: FastWorkspace, id: string) => {
    let output = '';
    let end: unknown;
    for await (const event of builds.streamLog(ws.as.viewer, id, 0, new AbortController().signal)) {
      if (event.event === 'output') output += (event.data as { data: string }).data;
      else end = event.data;
    }
    return { output, end: end as Awaited<ReturnType<ImageBuildsService['get']>> };
  };

  it('builds, labels the image for the workspace, masks the log; another workspace gets 404; delete removes the image', async () => {
    const [ws, other] = [await workspace(), await workspace()];
    const secret = 'fast-build-secret-31d7';
    await t.get(SecretsService).set(ws.as.admin, 'TOKEN', secret);
    t.fake.buildFailure = undefined;
    const queued = await builds.start(ws.as.developer, { name: 'tools', tag: 'v1' }, await tar(`FROM orcaops/busybox\nRUN echo ${secret}\n`));
    expect(queued).toMatchObject({ status: 'queued', image: expect.stringMatching(/^orcaops-ws-[0-9a-f]{12}\/tools:v1$/) });
    const { end } = await follow(ws, queued.id);
    expect(end).toMatchObject({ status: 'succeeded', digest: expect.stringMatching(/^sha256:/) });
    const [, options] = t.fake.callsOf('buildImage').at(-1) as [number, { tag: string; labels: Record<string, string> }];
    expect(options).toMatchObject({ tag: queued.image, labels: { 'orcaops.workspace': ws.id, 'orcaops.image-kind': 'build', 'orcaops.build-id': queued.id } });
    expect((await builds.readLog(ws.as.viewer, queued.id)).log).not.toContain(secret);

    await expect(builds.get(other.as.admin, queued.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(builds.remove(other.as.admin, queued.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(builds.start(other.as.developer, { name: 'steal' }, await tar(`FROM ${queued.image}\n`))).rejects.toMatchObject({ code: 'not_found' });

    await builds.remove(ws.as.developer, queued.id);
    expect(await t.fake.inspectImage(queued.image)).toBeUndefined();
    await expect(builds.get(ws.as.viewer, queued.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses before any engine call: a registry outside the policy (line named), FROM ${VAR}, a missing Dockerfile; viewers cannot build', async () => {
    const ws = await workspace();
    const calls = t.fake.callsOf('buildImage').length;
    await expect(builds.start(ws.as.developer, { name: 'x' }, await tar('FROM ghcr.io/acme/base:1\n'))).rejects.toMatchObject({ code: 'policy_denied', details: { line: 1 } });
    await expect(builds.start(ws.as.developer, { name: 'x' }, await tar('ARG B\nFROM ${B}\n'))).rejects.toMatchObject({ code: 'bad_request' });
    await expect(builds.start(ws.as.developer, { name: 'x', dockerfile: 'other/Dockerfile' }, await tar('FROM orcaops/busybox\n'))).rejects.toMatchObject({ code: 'bad_request' });
    await expect(builds.start(ws.as.viewer, { name: 'x' }, await tar('FROM orcaops/busybox\n'))).rejects.toMatchObject({ code: 'forbidden' });
    expect(t.fake.callsOf('buildImage').length).toBe(calls);
    expect(await builds.list(ws.as.viewer)).toEqual([]);
  });

  it('a failing step fails the build with the engine line as its error and in its log', async () => {
    const ws = await workspace();
    t.fake.buildFailure = "The command '/bin/sh -c exit 3' returned a non-zero code: 3";
    const queued = await builds.start(ws.as.developer, { name: 'broken' }, await tar('FROM orcaops/busybox\nRUN exit 3\n'));
    const { output, end } = await follow(ws, queued.id);
    expect(end).toMatchObject({ status: 'failed', digest: null, error: expect.stringContaining('returned a non-zero code: 3') });
    expect(output).toContain('returned a non-zero code: 3');
  });
});
