import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dataHomeFrom } from 'src/config/data-home';

export interface ClientConfig {
  url: string;
  token?: string;
  /** ORCAOPS_SESSION: sent as X-OrcaOps-Session on every request (links new work, keeps the session alive). */
  session?: string;
}

// Only ORCAOPS_HOME, not the server's validated environment: REST-client commands stay light (issue 20 item 8).
export function clientConfigPath(): string {
  return join(dataHomeFrom(process.env.ORCAOPS_HOME), 'config.json');
}

/** ORCAOPS_URL / ORCAOPS_TOKEN win over ~/.orcaops/config.json; the URL defaults to the local server. */
export function loadClientConfig(): ClientConfig {
  const path = clientConfigPath();
  const stored: Partial<ClientConfig> = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Partial<ClientConfig>) : {};
  return {
    url: (process.env.ORCAOPS_URL ?? stored.url ?? 'http://127.0.0.1:8000').replace(/\/+$/, ''),
    token: process.env.ORCAOPS_TOKEN ?? stored.token,
    session: process.env.ORCAOPS_SESSION || undefined,
  };
}

export function saveClientConfig(config: Partial<ClientConfig>): string {
  const path = clientConfigPath();
  const current = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Partial<ClientConfig>) : {};
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ ...current, ...config }, null, 2)}\n`, { mode: 0o600 });
  return path;
}
