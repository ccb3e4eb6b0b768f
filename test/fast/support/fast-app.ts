import type { Type } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from 'src/app.module';
import { resetEnvCache } from 'src/config/orcaops.config';
import { InMemoryQueue } from 'src/queue/in-memory.queue';
import { WORK_QUEUE } from 'src/queue/work-queue.port';
import type { ContainerRuntime } from 'src/runtime/container-runtime.port';
import { CONTAINER_RUNTIME } from 'src/runtime/container-runtime.port';
import { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import { buildTenantContext } from 'src/tenancy/tenant-context.factory';
import type { TenantContext } from 'src/tenancy/tenant-context';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import type { Role } from 'src/tenancy/permissions';
import { ApiTokensService } from 'src/workspaces/api-tokens.service';
import { WorkspacesService } from 'src/workspaces/workspaces.service';
import { TEST_ADMIN_TOKEN } from '../../support/app';
import { createTestDatabase } from '../../support/database';

/** Images the fake engine knows (a create with any other answers image_not_found, as the real one does). */
export const FAST_IMAGES = ['orcaops/busybox', 'orcaops/python'];

export interface FastWorkspace {
  id: string;
  /** One context per role, as the guard would build it from that role's token. */
  as: Record<Role, TenantContext>;
}

/**
 * The fast service-test tier: the whole application context (every module, lifecycle hooks, the real
 * migrated Postgres of this jest run) with the in-memory FakeRuntime and InMemoryQueue, and no HTTP
 * server. Tests call the services the way controllers, MCP tools and the CLI do. No Docker engine is
 * used: the Docker socket points nowhere, so a path that reached for it would fail loudly.
 */
export class FastApp {
  private constructor(
    readonly module: TestingModule,
    readonly fake: FakeRuntime,
    readonly queue: InMemoryQueue,
    readonly databaseUrl: string,
    readonly org: TenantContext,
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<FastApp> {
    const db = await createTestDatabase();
    const home = mkdtempSync(join(tmpdir(), 'orcaops-fast-home-'));
    const saved = { ...process.env };
    Object.assign(process.env, {
      ORCAOPS_ENV: 'test',
      ORCAOPS_HOME: home,
      DATABASE_URL: db.url,
      ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      ORCAOPS_LOG_LEVEL: 'error',
      ORCAOPS_RUNTIME: 'fake',
      ORCAOPS_DOCKER_SOCKET: '/nonexistent/docker.sock',
      // Reaper passes are driven by the tests (a timer would race the assertions).
      ORCAOPS_SANDBOX_REAPER_MS: '600000',
      ...env,
    });
    resetEnvCache();
    const queue = new InMemoryQueue();
    let module: TestingModule | undefined;
    try {
      module = await Test.createTestingModule({ imports: [AppModule] }).overrideProvider(WORK_QUEUE).useValue(queue).compile();
      module.useLogger(process.env.FAST_LOG ? ['error', 'warn'] : false);
      module.enableShutdownHooks();
      await module.init();
      const fake = module.get<ContainerRuntime>(CONTAINER_RUNTIME);
      if (!(fake instanceof FakeRuntime)) throw new Error('the fast tier must run on FakeRuntime (ORCAOPS_RUNTIME=fake), never a Docker engine');
      for (const image of FAST_IMAGES) fake.addImage(image);
      const principal = await module.get(TokenAuthService).authenticate(TEST_ADMIN_TOKEN);
      const org = buildTenantContext(principal, randomUUID(), '127.0.0.1', 'rest');
      const opened = module;
      return new FastApp(module, fake, queue, db.url, org, async () => {
        await opened.close();
        await db.drop();
        rmSync(home, { recursive: true, force: true });
      });
    } catch (error) {
      await module?.close().catch(() => undefined);
      await db.drop();
      throw error;
    } finally {
      process.env = saved;
      resetEnvCache();
    }
  }

  get<T>(type: Type<T> | string | symbol): T {
    return this.module.get<T>(type, { strict: false });
  }

  /** A workspace with a token per role, created through the services as an organisation admin would. */
  async workspace(name: string): Promise<FastWorkspace> {
    const ws = await this.get(WorkspacesService).create(this.org, { name });
    const as = {} as Record<Role, TenantContext>;
    for (const role of ['admin', 'developer', 'viewer', 'ci'] as const) {
      const issued = await this.get(ApiTokensService).create(this.org, ws.id, { name: `${name}-${role}`, role });
      const principal = await this.get(TokenAuthService).authenticate(issued.token);
      as[role] = buildTenantContext(principal, randomUUID(), '127.0.0.1', 'rest');
    }
    return { id: ws.id, as };
  }

  close(): Promise<void> {
    return this.cleanup();
  }
}

/** The OrcaOpsError code a promise rejects with ('resolved' when it does not). */
export async function errorCodeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    throw error;
  }
  return 'resolved';
}
