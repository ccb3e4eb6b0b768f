import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from './docker';
import { freePort } from './ports';

/**
 * A real OCI registry (Debian's docker-registry, distribution 2.8) on a loopback port, with its own
 * config and storage directory, optionally with htpasswd basic auth. The engine treats 127.0.0.0/8 as
 * an insecure registry, so plain HTTP works with no daemon configuration (verified-facts.md).
 * Never contacts anything outside this machine.
 */
export class LocalRegistry {
  private process?: ChildProcess;
  readonly host: string;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly config: string,
    readonly auth?: { username: string; password: string },
  ) {
    this.host = `127.0.0.1:${port}`;
  }

  static async start(auth?: { username: string; password: string }): Promise<LocalRegistry> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'orcaops-registry-'));
    const lines = ['version: 0.1', 'log: {level: error}', `http: {addr: "127.0.0.1:${port}"}`, `storage: {filesystem: {rootdirectory: "${join(dir, 'data')}"}, delete: {enabled: true}}`];
    if (auth) {
      const htpasswd = execFileSync('htpasswd', ['-Bbn', auth.username, auth.password]).toString();
      writeFileSync(join(dir, 'htpasswd'), htpasswd);
      lines.push(`auth: {htpasswd: {realm: basic-realm, path: "${join(dir, 'htpasswd')}"}}`);
    }
    const config = join(dir, 'config.yml');
    writeFileSync(config, `${lines.join('\n')}\n`);
    const registry = new LocalRegistry(port, dir, config, auth);
    await registry.resume();
    return registry;
  }

  /** (Re)starts the registry process on the same port and storage. */
  async resume(): Promise<void> {
    this.process = spawn('docker-registry', ['serve', this.config], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (!(await this.answers())) {
      if (Date.now() > deadline) throw new Error(`docker-registry did not listen on ${this.host}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the process (the storage stays: resume() brings the same images back). */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Tags a local image as `host/repository:tag` and pushes it through the engine API; returns the pushed digest. */
  async push(localImage: string, repository: string, tag: string): Promise<string> {
    const target = `${this.host}/${repository}`;
    await docker.getImage(localImage).tag({ repo: target, tag });
    // Push needs an authconfig even without auth (else 400 missing X-Registry-Auth).
    const authconfig = { username: this.auth?.username ?? 'anonymous', password: this.auth?.password ?? 'anonymous', serveraddress: this.host };
    const stream = await docker.getImage(`${target}:${tag}`).push({ tag, authconfig });
    const events = await new Promise<Array<{ error?: string; aux?: { Digest?: string } }>>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => (error ? reject(error) : resolve(output))),
    );
    // A failed push still answers 200: the error is only in the stream.
    const failed = events.find((e) => e.error);
    if (failed) throw new Error(`push of ${target}:${tag} failed: ${failed.error}`);
    const digest = events.find((e) => e.aux?.Digest)?.aux?.Digest;
    if (!digest) throw new Error(`push of ${target}:${tag} reported no digest`);
    // The pushed tag stays local only as long as the test needs: the engine copy is removed so pulls are real.
    await docker.getImage(`${target}:${tag}`).remove({ noprune: true }).catch(() => undefined);
    return digest;
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  }
}

/** Removes every engine image tagged under the registry host (images a test pulled), ignoring missing ones. */
export async function removeRegistryImages(host: string): Promise<void> {
  const images = await docker.listImages();
  for (const image of images) {
    const refs = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((r) => r.startsWith(`${host}/`));
    for (const ref of refs) await docker.getImage(ref).remove({ noprune: true }).catch(() => undefined);
  }
}

/**
 * Pushes `host/repository:tag` as orcaops/busybox plus one layer made by `script` (run with /bin/sh -c in
 * a labelled container, committed, both removed after the push): a layer the engine does not have, so
 * pulling it downloads it. Returns the pushed digest.
 */
export async function pushDerived(registry: LocalRegistry, repository: string, tag: string, script: string): Promise<string> {
  const container = await docker.createContainer({ Image: 'orcaops/busybox', Cmd: ['/bin/sh', '-c', `${script} || exit 1`], User: '0:0', Labels: { 'orcaops.test': 'registry-derived-image' } });
  let imageId: string | undefined;
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`derived image script failed (${StatusCode}): ${script}`);
    imageId = ((await container.commit({ comment: 'orcaops test image' })) as { Id: string }).Id;
    return await registry.push(imageId, repository, tag);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
    if (imageId) await docker.getImage(imageId).remove({ force: true }).catch(() => undefined);
  }
}

/** Moves `host/repository:tag` in the registry to another image (with a `/moved` marker file); returns the new digest. */
export function moveTag(registry: LocalRegistry, repository: string, tag: string): Promise<string> {
  return pushDerived(registry, repository, tag, 'touch /moved');
}
