// The layers of docs/architecture.md, lowest first, as an eslint-plugin-boundaries rule: a file may
// import its own element and the elements of lower layers, never a higher layer or a sibling of its own
// layer. Kept in CommonJS so test/lint/layers.spec.ts can load it with require().
'use strict';

/** Each entry is one layer; its elements may import only elements of earlier layers (and themselves). */
const LAYERS = [
  [{ type: 'config', pattern: 'src/config/**' }],
  [{ type: 'common', pattern: 'src/common/**' }],
  [{ type: 'domain', pattern: 'src/domain/**' }],
  // Pure log analysis (summaries of failed runs): no Nest, no I/O.
  [{ type: 'log-analysis', pattern: 'src/log-analysis/**' }],
  // The Prometheus registry (global TelemetryModule): features below and above register their metrics.
  [{ type: 'telemetry', pattern: 'src/telemetry/**' }],
  // The database kernel: base entity, scoped repositories, installation id, migrations runner, URL.
  [{ type: 'database', pattern: 'src/database/**' }],
  [
    { type: 'runtime', pattern: 'src/runtime/**' },
    { type: 'queue', pattern: 'src/queue/**' },
    { type: 'storage', pattern: 'src/storage/**' },
  ],
  [
    { type: 'tenancy', pattern: 'src/tenancy/**' },
    { type: 'images', pattern: 'src/images/**' },
  ],
  [
    { type: 'audit', pattern: 'src/audit/**' },
    // Stream caps (SSE, long-polls, MCP sessions): the route marker and the per-token/workspace slots.
    { type: 'streams', pattern: 'src/streams/**' },
  ],
  [{ type: 'quotas', pattern: 'src/quotas/**' }],
  [{ type: 'workspaces', pattern: 'src/workspaces/**' }],
  [{ type: 'policies', pattern: 'src/policies/**' }],
  // Registry credentials, pull grants and the image puller (policy-checked, single-flight pulls).
  [{ type: 'registries', pattern: 'src/registries/**' }],
  // The egress gateway (issue 14): decides each connection with the policy; jobs and sandboxes lease from it.
  [{ type: 'egress', pattern: 'src/egress/**' }],
  // Workspace and organisation secrets (sealed with the shared SecretBox).
  [{ type: 'secrets', pattern: 'src/secrets/**' }],
  // Workspace images built from a Dockerfile (issue 13 part 3): base images through the puller, logs masked with secrets.
  [{ type: 'image-builds', pattern: 'src/image-builds/**' }],
  [{ type: 'session-links', pattern: 'src/session-links/**' }],
  // What the platform learns from finished runs (baselines): fed plain data by the job finisher.
  [{ type: 'learning', pattern: 'src/learning/**' }],
  [{ type: 'jobs', pattern: 'src/jobs/**' }],
  // Companion service containers (networks, volumes, readiness, service quotas): workflows and environments.
  [{ type: 'services-runtime', pattern: 'src/services-runtime/**' }],
  [{ type: 'sandboxes', pattern: 'src/sandboxes/**' }],
  [
    { type: 'workflows', pattern: 'src/workflows/**' },
    { type: 'approvals', pattern: 'src/approvals/**' },
    // Environments: a sandbox plus companion services on its private network (docs/environments.md).
    { type: 'environments', pattern: 'src/environments/**' },
  ],
  [
    { type: 'sessions', pattern: 'src/sessions/**' },
    // Stops a workspace's or a token's running work on suspend, archive and revoke.
    { type: 'governance', pattern: 'src/governance/**' },
    // Run aggregates (/v1/metrics) and the Prometheus scrape endpoint with its database-backed gauges.
    { type: 'metrics', pattern: 'src/metrics/**' },
    // Operator views of the engine (containers, volumes, networks, orphans) for organisation admins.
    { type: 'operator', pattern: 'src/operator/**' },
  ],
  [
    { type: 'mcp', pattern: 'src/mcp/**' },
    { type: 'health', pattern: 'src/health/**' },
  ],
  // The composition root: the entity list and the TypeORM root module (they name every feature), the
  // HTTP application with its guard, AppModule and main.
  [
    {
      type: 'app',
      pattern: [
        'src/app.module.ts',
        'src/main.ts',
        'src/http/**',
        'src/database/database.module.ts',
        'src/database/data-source-options.ts',
        'src/database/data-source.ts',
      ],
    },
  ],
  [{ type: 'cli', pattern: 'src/cli/**' }],
];

// The app patterns name files inside src/database: listed first so they win over the database folder.
const ELEMENTS = [...LAYERS.flat().filter((e) => e.type === 'app'), ...LAYERS.flat().filter((e) => e.type !== 'app')].map((e) => ({
  ...e,
  mode: 'full',
}));

const POLICIES = LAYERS.flatMap((layer, index) => {
  const below = LAYERS.slice(0, index).flat().map((e) => e.type);
  return layer.map((element) => ({
    from: { element: { type: element.type } },
    allow: { to: { element: { types: { anyOf: [element.type, ...below] } } } },
  }));
});

/** The flat-config block for eslint.config.mjs (and the probe in test/lint/layers.spec.ts). */
function layersConfig(boundaries) {
  return {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': ELEMENTS,
      'boundaries/legacy-warnings': false,
      'import/resolver': { typescript: { project: `${__dirname}/tsconfig.json` } },
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          message: 'layer "{{from.type}}" may not import "{{to.type}}" (a higher layer or a sibling); see docs/architecture.md, "Layers"',
          policies: [
            // Packages are not layers (no-restricted-imports guards the few that are restricted).
            { allow: { to: { module: { origin: ['external', 'core'] } } } },
            ...POLICIES,
          ],
        },
      ],
      // Every source file belongs to a layer, and imports only files that do.
      'boundaries/no-unknown-files': 'error',
      'boundaries/no-unknown-dependencies': 'error',
    },
  };
}

module.exports = { LAYERS, layersConfig };
