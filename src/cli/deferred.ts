/**
 * Modules that a command loads only when it runs (issue 20 item 8). `orcaops --version`, `run`,
 * `jobs list` and `mcp` are REST clients: loading Nest, TypeORM, Swagger, dockerode or class-validator
 * for them cost about a second per call, which every agent that spawns the CLI paid. Command modules
 * import what they need to declare their options; anything heavier comes through here, inside the
 * action. test/fast/cli-startup.fast.spec.ts fails when a REST command loads one of them again.
 *
 * Relative paths on purpose: the Nest build rewrites `src/` paths in import declarations only, not in
 * import(), and relative paths resolve the same from src/ (jest, ts-node) and dist/src/ (the binary).
 */

/** The HTTP server (`orcaops serve`): Nest, Fastify, TypeORM, the embedded PostgreSQL. */
export const loadServer = () => import('../main');
/** The operator context (`orcaops admin ...`): Nest application context on the database. */
export const loadAdminContext = () => import('./admin/admin-context');
export const loadAdminTokens = () => import('../workspaces/admin-tokens.service');
export const loadEngineAdmin = () => import('../operator/engine-admin.service');
export const loadRotateSecretsKey = () => import('./admin/rotate-secrets-key');
/** The local Docker engine (dockerode) for `images` and `doctor`. */
export const loadDockerEngine = () => import('./docker-engine');
export const loadDoctor = () => import('./doctor/doctor');
export const loadImageBuilder = () => import('../images/image-builder');
/** The validated server environment (class-validator). */
export const loadServerConfig = () => import('../config/orcaops.config');
/** The MCP SDK (`orcaops mcp`). */
export const loadStdioRelay = () => import('../mcp/stdio-relay');
export const loadGptActions = () => import('../http/gpt-actions');
/** tar-stream, for workflow sources. */
export const loadHostileTar = () => import('../common/hostile-tar');

/** YAML for `--spec` / policy files; synchronous because the callers build request bodies synchronously. */
export function parseYaml(text: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred until a file is given
  return (require('yaml') as typeof import('yaml')).parse(text);
}
