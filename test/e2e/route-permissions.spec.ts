import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { DiscoveryService } from '@nestjs/core/discovery/discovery-service';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IS_PUBLIC_KEY, PERMISSION_KEY, SCRAPE_TOKEN_KEY } from 'src/tenancy/route-metadata';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';

const SNAPSHOT = join(__dirname, 'route-permissions.snapshot.json');
const UPDATE = process.env.UPDATE_ROUTE_SNAPSHOT === '1';
/** Routes Fastify serves that no Nest controller declares: the OpenAPI document (public on purpose). */
const OUTSIDE_NEST = 'public (outside Nest: OpenAPI document)';

type Table = Record<string, string>;

interface NestRoute {
  key: string;
  declaration: string | undefined;
}

const joinPath = (...parts: string[]): string =>
  `/${parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/')}`;
const asArray = (value: string | string[] | undefined): string[] =>
  Array.isArray(value) ? value : [value ?? '/'];

/** Every controller route with what it declares: "public", a permission, or undefined (denied by default). */
function nestRoutes(t: TestApp): NestRoute[] {
  const discovery = new DiscoveryService(t.app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = t.app.get(Reflector);
  return discovery.getControllers().flatMap(({ metatype, instance }) => {
    if (!metatype || !instance) return [];
    const prototype = Object.getPrototypeOf(instance) as Record<string, (...args: unknown[]) => unknown>;
    const bases = asArray(Reflect.getMetadata(PATH_METADATA, metatype));
    return scanner.getAllMethodNames(prototype).flatMap((name) => {
      const handler = prototype[name]!;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) return [];
      const targets = [handler, metatype];
      const isPublic = reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets);
      const permission = reflector.getAllAndOverride<string>(PERMISSION_KEY, targets);
      const scrape = reflector.get<boolean>(SCRAPE_TOKEN_KEY, handler);
      const declaration = isPublic ? 'public' : scrape ? 'metrics token (ORCAOPS_METRICS_TOKEN)' : permission;
      const paths = asArray(Reflect.getMetadata(PATH_METADATA, handler));
      return bases.flatMap((base) =>
        paths.map((path) => ({ key: `${RequestMethod[method]} ${joinPath(base, path)}`, declaration })),
      );
    });
  });
}

/** Fastify's tree prints a wildcard under a parameter as `:param` → `*`, leaving out the `/` between them. */
function joinTree(parts: string[]): string {
  return parts.reduce((path, part) => path + (part.startsWith('*') && !path.endsWith('/') ? '/' : '') + part, '');
}

/** Every method + path Fastify would answer, read from its route tree (HEAD is implied by GET). */
function fastifyRoutes(t: TestApp): string[] {
  const tree = t.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const parents: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n').filter((l) => l.trim())) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!match) throw new Error(`unexpected line in Fastify's route tree: ${JSON.stringify(line)}`);
    const depth = match[1]!.length / 4;
    parents.length = depth;
    parents.push(match[2]!);
    for (const method of match[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${joinTree(parents)}`);
    }
  }
  return routes;
}

function sorted(table: Table): Table {
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
}

function describeDiff(expected: Table, actual: Table): string[] {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return keys.flatMap((key) => {
    if (expected[key] === actual[key]) return [];
    if (expected[key] === undefined) return [`+ ${key}: ${actual[key]} (new route)`];
    if (actual[key] === undefined) return [`- ${key}: ${expected[key]} (route removed)`];
    return [`~ ${key}: ${expected[key]} -> ${actual[key]}`];
  });
}

describe('route → permission table (a security review point)', () => {
  let t: TestApp;
  let nest: NestRoute[];
  let served: string[];

  beforeAll(async () => {
    t = await createTestApp();
    nest = nestRoutes(t);
    served = fastifyRoutes(t);
  });
  afterAll(() => t.close());

  it('finds the routes', () => {
    expect(nest.length).toBeGreaterThan(5);
    expect(nest.map((r) => r.key)).toContain('GET /v1/me');
  });

  it('every controller route declares @Public() or @RequirePermission()', () => {
    const undeclared = nest.filter((r) => r.declaration === undefined).map((r) => r.key);
    expect(undeclared).toEqual([]);
  });

  it('Fastify serves exactly the controller routes, plus the OpenAPI document', () => {
    const declared = new Set(nest.map((r) => r.key));
    const outside = served.filter((key) => !declared.has(key));
    expect(outside.sort()).toEqual(['GET /openapi.gpt.json', 'GET /openapi.json', 'GET /openapi.yaml']);
    for (const key of declared) expect(served).toContain(key);
  });

  it('matches the checked-in snapshot (UPDATE_ROUTE_SNAPSHOT=1 rewrites it)', () => {
    const declarations = new Map(nest.map((r) => [r.key, r.declaration ?? 'UNDECLARED (denied by default)']));
    const actual = sorted(
      Object.fromEntries(served.map((key) => [key, declarations.get(key) ?? OUTSIDE_NEST])),
    );
    if (UPDATE || !existsSync(SNAPSHOT)) {
      if (!UPDATE) throw new Error(`${SNAPSHOT} is missing: run with UPDATE_ROUTE_SNAPSHOT=1 and review it`);
      writeFileSync(SNAPSHOT, `${JSON.stringify(actual, null, 2)}\n`);
      return;
    }
    const expected = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as Table;
    const diff = describeDiff(expected, actual);
    if (diff.length > 0) {
      throw new Error(
        `Routes or their permissions changed. Review these as a security change, then run ` +
          `UPDATE_ROUTE_SNAPSHOT=1 npx jest test/e2e/route-permissions:\n  ${diff.join('\n  ')}`,
      );
    }
  });
});
