import { DockerRuntime } from 'src/runtime/docker/docker.runtime';
import { digestFor, parseImageReference } from 'src/runtime/image-reference';
import { ImagePullError } from 'src/runtime/runtime.errors';
import type { PullProgress } from 'src/runtime/container-runtime.port';
import { LocalRegistry, removeRegistryImages } from '../support/local-registry';

/**
 * The runtime port's pull against a real registry on loopback (Debian's docker-registry), one without
 * auth and one with htpasswd basic auth: the engine's answers become typed ImagePullError reasons.
 */
describe('DockerRuntime.pullImage (real registry)', () => {
  const runtime = new DockerRuntime(process.env.ORCAOPS_DOCKER_SOCKET ?? '/var/run/docker.sock');
  const creds = { username: 'ci', password: 'correct-horse' };
  let open: LocalRegistry;
  let locked: LocalRegistry;
  let openDigest: string;

  beforeAll(async () => {
    [open, locked] = await Promise.all([LocalRegistry.start(), LocalRegistry.start(creds)]);
    openDigest = await open.push('orcaops/busybox', 'tools/busybox', 'v1');
    await locked.push('orcaops/busybox', 'private/busybox', 'v1');
  });
  afterAll(async () => {
    await removeRegistryImages(open.host);
    await removeRegistryImages(locked.host);
    await Promise.all([open.close(), locked.close()]);
  });

  const reason = async (promise: Promise<unknown>): Promise<string> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImagePullError);
    return (error as ImagePullError).reason;
  };

  it('pulls from a registry without auth, reports progress, and the image carries the pushed digest', async () => {
    const events: PullProgress[] = [];
    const reference = `${open.host}/tools/busybox:v1`;
    await runtime.pullImage(reference, { onProgress: (p) => events.push(p) });
    const info = await runtime.inspectImage(reference);
    expect(digestFor(parseImageReference(reference), info?.repoDigests ?? [])).toBe(openDigest);
    expect(events.length).toBeGreaterThan(0);
  });

  it('pulls by digest (pinning)', async () => {
    await runtime.pullImage(`${open.host}/tools/busybox@${openDigest}`);
    expect(await runtime.inspectImage(`${open.host}/tools/busybox@${openDigest}`)).toBeDefined();
  });

  it('types the failures: unknown tag, no credentials, wrong credentials, registry stopped', async () => {
    expect(await reason(runtime.pullImage(`${open.host}/tools/busybox:nope`))).toBe('not_found');
    expect(await reason(runtime.pullImage(`${locked.host}/private/busybox:v1`))).toBe('unauthorized');
    expect(await reason(runtime.pullImage(`${locked.host}/private/busybox:v1`, { auth: { ...creds, password: 'wrong', serveraddress: locked.host } }))).toBe('unauthorized');
    await open.stop();
    try {
      expect(await reason(runtime.pullImage(`${open.host}/tools/busybox:v1`))).toBe('registry_unreachable');
    } finally {
      await open.resume();
    }
  });

  it('pulls with the right credentials', async () => {
    await runtime.pullImage(`${locked.host}/private/busybox:v1`, { auth: { ...creds, serveraddress: locked.host } });
    expect(await runtime.inspectImage(`${locked.host}/private/busybox:v1`)).toBeDefined();
  });
});
