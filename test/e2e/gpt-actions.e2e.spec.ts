import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT_LIMITS, GPT_OPERATIONS } from 'src/http/gpt-actions';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { api } from '../support/http';
import { listen } from '../support/mcp';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function operations(doc: Json): Json[] {
  return Object.values(doc.paths as Json).flatMap((item: Json) => METHODS.filter((m) => item[m]).map((m) => item[m] as Json));
}

function walk(value: unknown, visit: (key: string, child: unknown) => void): void {
  if (Array.isArray(value)) value.forEach((v) => walk(v, visit));
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      visit(key, child);
      walk(child, visit);
    }
  }
}

/** The limits ChatGPT Custom GPT Actions accept, checked on the served document and the CLI export. */
function expectFitForGptActions(doc: Json, serverUrl: string): void {
  expect(doc.openapi).toBe('3.1.0');
  expect(doc.servers).toEqual([{ url: serverUrl }]);
  expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  const ops = operations(doc);
  expect(ops.length).toBeLessThanOrEqual(GPT_LIMITS.operations);
  expect(ops.map((o) => o.operationId).sort()).toEqual(Object.keys(GPT_OPERATIONS).sort());
  // Workflows are there too (issue 20 item 5): start, list, read, wait, an instance's output, cancel.
  expect(ops.map((o) => o.operationId)).toEqual(expect.arrayContaining(['runWorkflow', 'listWorkflows', 'getWorkflow', 'waitWorkflow', 'getWorkflowLogs', 'cancelWorkflow']));
  for (const op of ops) {
    expect(op.description.length).toBeGreaterThan(10);
    expect(op.description.length).toBeLessThanOrEqual(GPT_LIMITS.operationText);
    expect(op.summary.length).toBeLessThanOrEqual(GPT_LIMITS.operationText);
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(typeof op['x-openai-isConsequential']).toBe('boolean');
    const bodies = [op.requestBody, ...Object.values(op.responses as Json)].filter((b) => b?.content);
    for (const b of bodies) expect(Object.keys(b.content)).toEqual(['application/json']);
    for (const p of op.parameters ?? []) {
      expect(p.in).not.toBe('header');
      expect((p.description ?? '').length).toBeLessThanOrEqual(GPT_LIMITS.parameterText);
    }
  }
  const refs: string[] = [];
  walk(doc, (key, child) => {
    if (key === '$ref') refs.push(child as string);
    expect(key).not.toBe('nullable');
  });
  for (const ref of refs) {
    expect(ref).toMatch(/^#\/components\/schemas\//);
    expect(doc.components.schemas[ref.replace('#/components/schemas/', '')]).toBeDefined();
  }
}

describe('OpenAPI for ChatGPT Custom GPT Actions', () => {
  let t: TestApp;
  let home: string;
  beforeAll(async () => {
    t = await createTestApp();
    home = mkdtempSync(join(tmpdir(), 'orcaops-gpt-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('GET /openapi.gpt.json is public and fits the limits', async () => {
    const res = await api(t.app, 'GET', '/openapi.gpt.json?server_url=https://orcaops.example.com');
    expect(res.status).toBe(200);
    expectFitForGptActions(res.body, 'https://orcaops.example.com');
    expect(res.body.paths['/v1/jobs'].post['x-openai-isConsequential']).toBe(true);
    expect(res.body.paths['/v1/jobs/{jobId}'].get['x-openai-isConsequential']).toBe(false);
  });

  it('orcaops openapi --gpt exports the same document to a file', async () => {
    const baseUrl = await listen(t);
    const file = join(home, 'gpt.json');
    const run = await runCli(['openapi', '--gpt', '--server-url', 'https://gpt.example.com', '-o', file], { ORCAOPS_URL: baseUrl, ORCAOPS_HOME: home });
    expect(run.exitCode).toBe(0);
    expectFitForGptActions(JSON.parse(readFileSync(file, 'utf8')), 'https://gpt.example.com');
  });
});
