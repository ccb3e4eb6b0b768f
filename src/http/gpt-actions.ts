/**
 * The OpenAPI document for ChatGPT Custom GPT Actions, cut from the full one: the job, sandbox and
 * workflow operations an assistant needs, within the limits GPT Actions accept (at most 30 operations,
 * summaries/descriptions ≤ 300 characters, parameter descriptions ≤ 700, no custom headers, JSON
 * only, requests time out after 45 s), as OpenAPI 3.1 with a servers URL and bearer auth.
 */

export const GPT_LIMITS = { operations: 30, operationText: 300, parameterText: 700 } as const;

/** operationId → whether ChatGPT must ask the user before calling it (x-openai-isConsequential). */
export const GPT_OPERATIONS: Readonly<Record<string, boolean>> = {
  createJob: true,
  getJob: false,
  waitJob: false,
  listJobs: false,
  getJobLogs: false,
  listJobArtifacts: false,
  cancelJob: true,
  listSandboxProfiles: false,
  createSandbox: true,
  listSandboxes: false,
  getSandbox: false,
  extendSandbox: false,
  deleteSandbox: true,
  execInSandbox: true,
  runShellCommand: true,
  waitShellCommand: false,
  interruptShellCommand: true,
  startProcess: true,
  readProcessOutput: false,
  killProcess: true,
  writeFile: true,
  readFile: false,
  listFiles: false,
  // Workflows (GitHub Actions-style YAML): start one, follow it, read an instance's output, stop it.
  runWorkflow: true,
  listWorkflows: false,
  getWorkflow: false,
  waitWorkflow: false,
  getWorkflowLogs: false,
  cancelWorkflow: true,
};

/** Query parameters that select streaming or non-JSON answers, which actions cannot consume. */
const DROPPED_QUERY = new Set(['follow', 'format']);
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function clip(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length <= max ? clean : `${clean.slice(0, max - 1).trimEnd()}…`;
}

/** OpenAPI 3.0 `nullable: true` becomes a 3.1 type union (or a oneOf with null around a $ref). */
function toJsonSchema2020(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJsonSchema2020);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) if (key !== 'nullable') out[key] = toJsonSchema2020(child);
  if (value.nullable !== true) return out;
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] };
  return { oneOf: [out, { type: 'null' }] };
}

function refsIn(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) value.forEach((v) => refsIn(v, found));
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') found.add(child.replace('#/components/schemas/', ''));
      else refsIn(child, found);
    }
  }
}

/** The component schemas the kept operations reach, transitively. */
function reachableSchemas(paths: Json, schemas: Json): Json {
  const seen = new Set<string>();
  const queue = new Set<string>();
  refsIn(paths, queue);
  while (queue.size) {
    const [name] = queue;
    queue.delete(name!);
    if (seen.has(name!)) continue;
    seen.add(name!);
    refsIn(schemas[name!], queue);
  }
  return Object.fromEntries([...seen].sort().filter((n) => n in schemas).map((n) => [n, schemas[n]]));
}

function jsonOnly(content: unknown): unknown {
  if (!isObject(content)) return content;
  const json = content['application/json'];
  return json === undefined ? content : { 'application/json': json };
}

function gptOperation(operation: Json, consequential: boolean): Json {
  const summary = typeof operation.summary === 'string' ? operation.summary : String(operation.operationId);
  const description = typeof operation.description === 'string' ? `${summary}. ${operation.description}` : summary;
  const parameters = ((operation.parameters as Json[] | undefined) ?? [])
    .filter((p) => p.in !== 'header' && !(p.in === 'query' && DROPPED_QUERY.has(String(p.name))))
    .map((p) => (typeof p.description === 'string' ? { ...p, description: clip(p.description, GPT_LIMITS.parameterText) } : p));
  const responses = Object.fromEntries(
    Object.entries((operation.responses as Json | undefined) ?? {}).map(([status, r]) => [status, isObject(r) && r.content ? { ...r, content: jsonOnly(r.content) } : r]),
  );
  const body = operation.requestBody as Json | undefined;
  return {
    operationId: operation.operationId,
    summary: clip(summary, GPT_LIMITS.operationText),
    description: clip(description, GPT_LIMITS.operationText),
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: { ...body, content: jsonOnly(body.content) } } : {}),
    responses,
    security: [{ bearer: [] }],
    'x-openai-isConsequential': consequential,
  };
}

/** The GPT Actions document for `serverUrl` (https in production: ChatGPT calls only TLS endpoints). */
export function toGptActionsDocument(full: Json, serverUrl: string): Json {
  const paths: Json = {};
  for (const [path, item] of Object.entries((full.paths as Json | undefined) ?? {})) {
    if (!isObject(item)) continue;
    const kept: Json = {};
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation) || typeof operation.operationId !== 'string') continue;
      const consequential = GPT_OPERATIONS[operation.operationId];
      if (consequential !== undefined) kept[method] = gptOperation(operation, consequential);
    }
    if (Object.keys(kept).length) paths[path] = kept;
  }
  const schemas = ((full.components as Json | undefined)?.schemas as Json | undefined) ?? {};
  return toJsonSchema2020({
    openapi: '3.1.0',
    info: {
      title: 'OrcaOps',
      version: isObject(full.info) ? full.info.version : '1',
      description:
        'Run code safely in locked-down containers of your OrcaOps workspace: one-off jobs (createJob, then waitJob) and ' +
        'sandboxes for multi-step work (createSandbox, runShellCommand, writeFile, readFile; deleteSandbox when done). ' +
        'Calls time out after 45 s here: keep timeout_seconds at 30 or less and poll with waitJob or waitShellCommand.',
    },
    servers: [{ url: serverUrl.replace(/\/+$/, '') }],
    paths,
    components: {
      schemas: reachableSchemas(paths, schemas),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An OrcaOps workspace token (orcaops_ws_...)' } },
    },
  }) as Json;
}
