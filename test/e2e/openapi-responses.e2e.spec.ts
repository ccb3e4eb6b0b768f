import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { api } from '../support/http';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Bodies that are not a JSON document: text (events, lines, plain) or raw bytes, each a string schema. */
const TEXT_TYPES = new Set(['text/csv', 'text/event-stream', 'text/plain', 'application/x-ndjson']);
const BINARY_TYPES = new Set(['application/octet-stream', 'application/x-tar']);

/** A JSON schema that names its shape: a component, an object with properties, or an array of such. */
function describesJson(schema: Json | undefined): boolean {
  if (!schema) return false;
  if (schema.$ref) return true;
  if (schema.type === 'array') return describesJson(schema.items as Json | undefined);
  if (schema.type === 'object') return Object.keys((schema.properties ?? {}) as Json).length > 0;
  return ['string', 'number', 'integer', 'boolean'].includes(schema.type as string);
}

function mediaProblem(type: string, schema: Json | undefined): string | undefined {
  if (TEXT_TYPES.has(type)) return schema?.type === 'string' ? undefined : 'is not a string schema';
  if (BINARY_TYPES.has(type)) return schema?.type === 'string' && schema.format === 'binary' ? undefined : 'is not a binary string schema';
  if (type === 'application/json') return describesJson(schema) ? undefined : 'has no described schema';
  return 'is not a documented content type';
}

/** Why an operation's 2xx responses do not say what they return (empty when they do). */
function responseProblems(op: Json): string[] {
  const ok = Object.entries((op.responses ?? {}) as Json).filter(([status]) => /^2\d\d$/.test(status));
  if (!ok.length) return ['no 2xx response'];
  const problems: string[] = [];
  for (const [status, response] of ok) {
    if (status === '204') {
      if (response.content) problems.push('204 with a body');
      continue;
    }
    const content = (response.content ?? {}) as Json;
    if (!Object.keys(content).length) problems.push(`${status} without content`);
    for (const [type, media] of Object.entries(content)) {
      const problem = mediaProblem(type, (media as Json).schema as Json | undefined);
      if (problem) problems.push(`${status} ${type} ${problem}`);
    }
  }
  return problems;
}

/** The OpenAPI document describes every response: clients (CLI, GPT Actions, SDKs) are generated from it. */
describe('openapi.json responses', () => {
  let t: TestApp;
  let doc: Json;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    const res = await api(t.app, 'GET', '/openapi.json');
    if (res.status !== 200) throw new Error(`GET /openapi.json: ${res.status} ${JSON.stringify(res.body)}`);
    doc = res.body as Json;
  });
  afterAll(() => t?.close());

  it('declares a 2xx response with a schema (or a 204, or a typed stream) for every operation', () => {
    const failing: Record<string, string[]> = {};
    let count = 0;
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const method of METHODS) {
        const op = (item as Json)[method] as Json | undefined;
        if (!op) continue;
        count++;
        const problems = responseProblems(op);
        if (problems.length) failing[`${method.toUpperCase()} ${path} (${op.operationId})`] = problems;
      }
    }
    expect(count).toBeGreaterThan(50);
    expect(failing).toEqual({});
  });

  it('resolves every schema reference', () => {
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    const missing = [...new Set(refs)].map((r) => r.slice('"#/components/schemas/'.length, -1)).filter((name) => !doc.components.schemas[name]);
    expect(missing).toEqual([]);
  });
});
