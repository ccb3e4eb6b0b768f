import { registerAs } from '@nestjs/config';
import { join } from 'node:path';
import type { EnvironmentVariables} from 'src/config/env.validation';
import { validateEnv } from 'src/config/env.validation';
import { dataHomeFrom } from 'src/config/data-home';

/** Reads process.env once per process (the only place that does). */
let cached: EnvironmentVariables | undefined;
export function readEnv(): EnvironmentVariables {
  cached ??= validateEnv(process.env);
  return cached;
}
/** Tests change the environment between apps; this forgets the parsed copy. */
export function resetEnvCache(): void {
  cached = undefined;
}

export function dataHome(env: EnvironmentVariables = readEnv()): string {
  return dataHomeFrom(env.ORCAOPS_HOME);
}

export const appConfig = registerAs('app', () => {
  const env = readEnv();
  return {
    environment: env.ORCAOPS_ENV,
    home: dataHome(env),
    host: env.ORCAOPS_HOST,
    port: env.ORCAOPS_PORT,
    logLevel: env.ORCAOPS_LOG_LEVEL,
    maxBodyBytes: env.ORCAOPS_MAX_BODY_BYTES,
    allowedOrigins: env.ORCAOPS_ALLOWED_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
  };
});

export const databaseConfig = registerAs('database', () => {
  const env = readEnv();
  return {
    url: env.DATABASE_URL,
    embeddedDir: join(dataHome(env), 'postgres'),
    embeddedPort: env.ORCAOPS_EMBEDDED_PG_PORT,
  };
});

export const authConfig = registerAs('auth', () => ({ adminToken: readEnv().ORCAOPS_ADMIN_TOKEN }));

/** The Prometheus endpoint's credential (GET /metrics); unset, the endpoint does not exist. */
export const metricsConfig = registerAs('metrics', () => ({ scrapeToken: readEnv().ORCAOPS_METRICS_TOKEN }));

export const runtimeConfig = registerAs('runtime', () => {
  const env = readEnv();
  return {
    driver: env.ORCAOPS_RUNTIME,
    /** Labelled on the objects this installation creates (HOME_LABEL): where its data lives. */
    home: dataHome(env),
    socketPath: env.ORCAOPS_DOCKER_SOCKET ?? dockerSocketFromEnv(),
    engineCallTimeoutMs: env.ORCAOPS_ENGINE_CALL_TIMEOUT_MS,
    maxConcurrentJobs: env.ORCAOPS_MAX_CONCURRENT_JOBS,
  };
});

function dockerSocketFromEnv(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

export type AppConfig = ReturnType<typeof appConfig>;
export type DatabaseConfig = ReturnType<typeof databaseConfig>;
export type AuthConfig = ReturnType<typeof authConfig>;
export type RuntimeConfig = ReturnType<typeof runtimeConfig>;
