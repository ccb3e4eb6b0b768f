import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { InstallationService } from 'src/database/installation.service';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import { DEFAULT_SHELL_NAME, envApplicableToOpenShell, ShellSession } from 'src/sandboxes/interaction/shell-session';
import {
  canonicalImage,
  isDefaultResources,
  parsePoolConfig,
  poolLabels,
  SANDBOX_USER,
  SANDBOX_WORKDIR,
  sandboxContainerSpec,
} from 'src/sandboxes/sandbox-container';
import type { SandboxSpec } from 'src/sandboxes/sandbox-model';
import { DEFAULT_SANDBOX_RESOURCES } from 'src/sandboxes/sandbox-model';
import { SandboxNode } from 'src/sandboxes/sandbox-node';
import { sandboxesConfig } from 'src/sandboxes/sandboxes.config';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';

/** After a failed fill (image missing, engine down), wait this long before trying that image again. */
const RETRY_AFTER_MS = 30_000;

interface PoolContainer {
  id: string;
  /** The default shell, opened while the container waited (undefined if it could not be opened). */
  shell?: ShellSession;
}

interface ImagePool {
  target: number;
  idle: PoolContainer[];
  filling: number;
  failedAt: number;
}

/**
 * Pre-started hardened containers per image (operator config ORCAOPS_SANDBOX_POOL), owned by no tenant
 * until taken. A container is handed out once and never returns to the pool, and no tenant data (env,
 * labels, files) is in it before it is taken, so nothing can carry over between tenants. Taking is a
 * synchronous shift() on this process's list: two creates can never get the same container.
 *
 * Each pool container also has its default shell (DEFAULT_SHELL_NAME) open, started with an empty env
 * before any tenant existed: opening a shell is an exec (≈90 ms), most of "create → first output". On
 * take the shell goes with its container to that one sandbox: the sandbox env is exported into it (see
 * ShellSession.handOver) and SandboxShellsService claims it on the sandbox's first use of that shell.
 */
@Injectable()
export class WarmPoolService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SandboxPool');
  private readonly pools = new Map<string, ImagePool>();
  private stopped = false;
  private readonly fills = new Set<Promise<void>>();
  /** Pre-opened shells of taken containers, by sandbox id, until claimed (or the shell ends). */
  private readonly handedOver = new Map<string, Promise<ShellSession | undefined>>();

  private readonly maxFills: number;

  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @Inject(sandboxesConfig.KEY) config: ConfigType<typeof sandboxesConfig>,
    private readonly installation: InstallationService,
    private readonly node: SandboxNode,
    private readonly metrics: PlatformMetrics,
  ) {
    for (const [image, target] of parsePoolConfig(config.pool)) this.pools.set(image, { target, idle: [], filling: 0, failedAt: 0 });
    this.maxFills = config.poolFills;
    // The image label is bounded by ORCAOPS_SANDBOX_POOL (the operator's list).
    metrics.gauge('orcaops_sandbox_pool_containers', 'Warm pool containers per configured image: idle (ready to take), filling (starting), target', ['image', 'state'], () =>
      [...this.pools].flatMap(([image, p]) => [
        { labels: { image, state: 'idle' }, value: p.idle.length },
        { labels: { image, state: 'filling' }, value: p.filling },
        { labels: { image, state: 'target' }, value: p.target },
      ]),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    // Strays from a previous run are removed by the sandbox reaper (it knows which ones were taken).
    await this.node.hold();
    this.refill();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.fills]);
    const idle = [...this.pools.values()].flatMap((p) => p.idle.splice(0));
    for (const c of idle) c.shell?.close();
    // Shells handed to sandboxes but never used end with this server, like every other shell.
    for (const pending of this.handedOver.values()) void pending.then((shell) => shell?.close());
    this.handedOver.clear();
    await Promise.allSettled(idle.map((c) => this.runtime.remove(c.id)));
  }

  /** Whether an idle container of this image is waiting (the caller then checks the workspace may use the image). */
  has(image: string): boolean {
    return !!this.pools.get(canonicalImage(image))?.idle.length;
  }

  /**
   * A pre-started container for this sandbox, or undefined when none matches (the caller creates one).
   * Its open default shell starts taking the sandbox env now, while the caller records the sandbox.
   */
  take(sandboxId: string, spec: Pick<SandboxSpec, 'image' | 'resources' | 'network' | 'env' | 'secrets'>, imageUsable = true): string | undefined {
    if (spec.network !== 'none' || !isDefaultResources(spec.resources)) {
      this.metrics.poolTakes.inc({ result: 'ineligible' });
      return undefined;
    }
    // imageUsable false: no idle container, or this workspace may not use the pool's copy of the image
    // without a pull of its own (SandboxLifecycle.warmImage); either way it starts cold, a miss.
    const pool = imageUsable ? this.pools.get(canonicalImage(spec.image)) : undefined;
    const taken = pool?.idle.shift();
    this.metrics.poolTakes.inc({ result: taken ? 'hit' : 'miss' });
    if (!taken) return undefined;
    this.refill();
    const { shell } = taken;
    if (shell && !shell.ended) {
      // Secrets are opened per command, not here: a sandbox with secrets opens its shell with them.
      if (envApplicableToOpenShell(spec.env) && !Object.keys(spec.secrets ?? {}).length) {
        const ready = shell.handOver(spec.env).then(
          () => shell,
          (error: unknown) => {
            this.logger.warn({ msg: 'pre-opened shell could not take the sandbox env; a fresh one will be opened', sandboxId, err: String(error) });
            return undefined;
          },
        );
        this.handedOver.set(sandboxId, ready);
        // Never claimed (no shell used before the sandbox ended): let go when the shell's exec ends.
        void shell.exited.then(() => {
          if (this.handedOver.get(sandboxId) === ready) this.handedOver.delete(sandboxId);
        });
      } else {
        shell.close();
      }
    }
    return taken.id;
  }

  /**
   * The default shell pre-opened in the container this sandbox took from the pool, env applied; once
   * (a second call, or a sandbox that got no pooled shell, gets undefined and opens its own).
   */
  claimShell(sandboxId: string): Promise<ShellSession | undefined> | undefined {
    const shell = this.handedOver.get(sandboxId);
    this.handedOver.delete(sandboxId);
    return shell;
  }

  /** Idle containers per image (for tests, the bench and health). */
  stats(): Record<string, { target: number; idle: number; filling: number }> {
    return Object.fromEntries([...this.pools].map(([image, p]) => [image, { target: p.target, idle: p.idle.length, filling: p.filling }]));
  }

  /** Resolves when every pool is full (or ms passed); for tests and benchmarks. */
  async whenFull(ms = 30_000): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if ([...this.pools.values()].every((p) => p.idle.length >= p.target)) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  /**
   * Starts background fills up to each target; never blocks a request.
   *
   * How the pool keeps up with a create rate: a take is a synchronous shift() plus one commit, so creates
   * are served from the pool as fast as the API and Postgres go (well above 10/s) for as many containers
   * as the pool holds. Refilling is bound by the engine (create + start + shell exec, ≈0.3–0.5 s of mostly
   * engine CPU per container on a 2-core host), so at most `maxFills` (ORCAOPS_SANDBOX_POOL_FILLS, default
   * 2) containers start at once, across images (image by image): unbounded parallel
   * starts (20 after a burst of 20) would take the CPU from the requests being served and deliver the
   * whole batch late instead of the first containers early. Each finished fill starts the next. So a
   * burst up to the pool size is served warm; a sustained rate above the engine's start rate is not, and
   * creates beyond the pool then start their own container (as without a pool). Size the pool for the
   * largest burst expected between quiet periods.
   */
  refill(): void {
    if (this.stopped) return;
    for (const [image, pool] of this.pools) {
      if (Date.now() - pool.failedAt < RETRY_AFTER_MS) continue;
      while (pool.idle.length + pool.filling < pool.target && this.fills.size < this.maxFills) {
        pool.filling++;
        const fill = this.startOne(image, pool).finally(() => {
          pool.filling--;
          this.fills.delete(fill);
          this.refill();
        });
        this.fills.add(fill);
      }
    }
  }

  private async startOne(image: string, pool: ImagePool): Promise<void> {
    let id: string | undefined;
    try {
      const install = await this.installation.installationId();
      const spec = sandboxContainerSpec(`orcaops-pool-${randomUUID()}`, image, DEFAULT_SANDBOX_RESOURCES, 'none', poolLabels(install, this.node.id, image));
      id = await this.runtime.createContainer(spec);
      await this.runtime.startContainer(id);
      const shell = await ShellSession.open(this.runtime, { containerId: id, user: SANDBOX_USER, workdir: SANDBOX_WORKDIR, env: {} }, DEFAULT_SHELL_NAME, {
        outputCapBytes: INTERACTION_LIMITS.shellOutputCapBytes,
        interruptGraceMs: INTERACTION_LIMITS.interruptGraceMs,
      }).catch((error: unknown) => {
        // Still a good container: its sandbox opens the shell on first use, as without a pool.
        this.logger.warn({ msg: 'could not pre-open the default shell in a pool container', image, err: String(error) });
        return undefined;
      });
      if (this.stopped) {
        shell?.close();
        throw new Error('shutting down');
      }
      pool.idle.push({ id, shell });
    } catch (error) {
      pool.failedAt = Date.now();
      if (id) await this.runtime.remove(id).catch(() => undefined);
      if (!this.stopped) this.logger.warn({ msg: 'could not start a pool container', image, err: String(error) });
    }
  }
}
