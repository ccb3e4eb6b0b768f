import { registerAs } from '@nestjs/config';
import { resolve } from 'node:path';
import { readEnv } from 'src/config/orcaops.config';

/** Sandbox lifecycle settings (server-wide; per-workspace limits are quotas, src/quotas). */
export const sandboxesConfig = registerAs('sandboxes', () => {
  const env = readEnv();
  return {
    /** How often the reaper enforces TTL and idle timeouts and checks containers. */
    reaperIntervalMs: env.ORCAOPS_SANDBOX_REAPER_MS,
    /** last_activity_at is written at most this often per sandbox (activity itself is tracked in memory). */
    activityFlushMs: Math.max(1_000, Math.min(10_000, env.ORCAOPS_SANDBOX_REAPER_MS * 2)),
    /** `image=count,...`: pre-started containers kept per image (default resources, no network). */
    pool: env.ORCAOPS_SANDBOX_POOL,
    /** Pool containers being started at once, across images (see WarmPoolService.refill). */
    poolFills: env.ORCAOPS_SANDBOX_POOL_FILLS,
    /** The profile catalogue; an explicitly configured file must exist. */
    profilesFile: resolve(env.ORCAOPS_SANDBOX_PROFILES ?? 'sandboxes.yml'),
    profilesFileRequired: env.ORCAOPS_SANDBOX_PROFILES !== undefined,
    /** A sandbox stuck in `starting` this long (its creator died mid-way) is failed. */
    startingGraceMs: 120_000,
    /** Base of issued preview URLs (ORCAOPS_PUBLIC_URL, else the address the API listens on). */
    publicUrl: (env.ORCAOPS_PUBLIC_URL ?? `http://${env.ORCAOPS_HOST}:${env.ORCAOPS_PORT}`).replace(/\/+$/, ''),
  };
});

export type SandboxesConfig = ReturnType<typeof sandboxesConfig>;
