import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { DiscoveryService } from '@nestjs/core/discovery/discovery-service';
import { randomUUID } from 'node:crypto';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const joinPath = (...parts: string[]): string => `/${parts.flatMap((p) => p.split('/')).filter(Boolean).join('/')}`;
const asArray = (value: string | string[] | undefined): string[] => (Array.isArray(value) ? value : [value ?? '/']);

/** Every POST route a Nest controller declares, path parameters filled with ids that match nothing. */
function postRoutes(t: TestApp): string[] {
  const discovery = new DiscoveryService(t.app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const paths = discovery.getControllers().flatMap(({ metatype, instance }) => {
    if (!metatype || !instance) return [];
    const prototype = Object.getPrototypeOf(instance) as Record<string, (...args: unknown[]) => unknown>;
    return scanner.getAllMethodNames(prototype).flatMap((name) => {
      const handler = prototype[name]!;
      if (Reflect.getMetadata(METHOD_METADATA, handler) !== RequestMethod.POST) return [];
      const bases = asArray(Reflect.getMetadata(PATH_METADATA, metatype));
      return bases.flatMap((base) => asArray(Reflect.getMetadata(PATH_METADATA, handler)).map((path) => joinPath(base, path)));
    });
  });
  return [...new Set(paths)].map((path) => path.replace(/:[A-Za-z]+/g, (param) => (param === ':pid' ? '12345' : param === ':name' ? 'main' : randomUUID())));
}

// Issue 20 item 5: many SDKs and the Custom GPT runtime send `Content-Type: application/json` with no
// body on actions that take none (cancel, approve, end...). Such a request is answered exactly like one
// without a Content-Type, on every POST route (src/http/json-body.ts); malformed JSON stays a 400.
describe('an empty JSON body is no body', () => {
  let t: TestApp;
  let a: SeededWorkspace;

  beforeAll(async () => {
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'empty-body');
  });
  afterAll(() => t.close());

  it('is answered like a request without a body on every POST route', async () => {
    const routes = postRoutes(t);
    expect(routes).toEqual(expect.arrayContaining([expect.stringMatching(/\/cancel$/), expect.stringMatching(/\/approve$/), expect.stringMatching(/\/end$/)]));
    const differences: string[] = [];
    for (const url of routes) {
      const bare = await api(t.app, 'POST', url, { token: a.tokens.admin.token });
      const json = await api(t.app, 'POST', url, { token: a.tokens.admin.token, headers: { 'content-type': 'application/json' }, rawBody: '' });
      const seen = (r: typeof bare): string => `${r.status} ${(r.body as { error?: { code?: string } })?.error?.code ?? ''}`;
      if (seen(json) !== seen(bare)) differences.push(`${url}: ${seen(json)} with an empty JSON body, ${seen(bare)} without a body`);
    }
    expect(differences).toEqual([]);
  });

  it('runs a body-less action sent with Content-Type: application/json', async () => {
    const opened = await api(t.app, 'POST', '/v1/sessions', { token: a.tokens.developer.token, body: { agent_type: 'custom' } });
    expect(opened.status).toBe(201);
    const ended = await api(t.app, 'POST', `/v1/sessions/${opened.body.id}/end`, {
      token: a.tokens.developer.token,
      headers: { 'content-type': 'application/json' },
      rawBody: '',
    });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ id: opened.body.id, status: 'ended' });
  });

  it('still refuses malformed JSON with a 400', async () => {
    const res = await api(t.app, 'POST', `/v1/jobs/${randomUUID()}/cancel`, {
      token: a.tokens.developer.token,
      headers: { 'content-type': 'application/json' },
      rawBody: '{',
    });
    expect(res.status).toBe(400);
  });
});
