import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentDefinitionError, parseEnvironmentFile, parseEnvironmentTemplates, renderEnvironmentFile } from 'src/environments/environment-definition';
import { startWaves } from 'src/services-runtime/service-containers';

function problems(text: string): string[] {
  try {
    parseEnvironmentFile(text, 'compose.yml');
  } catch (error) {
    if (error instanceof EnvironmentDefinitionError) return error.problems;
    throw error;
  }
  throw new Error('expected a definition error');
}

describe('parseEnvironmentFile (compose subset)', () => {
  it('reads services, health checks, dependencies, named volumes and the sandbox', () => {
    const text = [
      'name: shop',
      'x-orcaops-sandbox:',
      '  image: orcaops/python',
      '  environment: [DB_HOST=db]',
      'services:',
      '  db:',
      '    image: orcaops/postgres:16',
      '    environment: { POSTGRES_PASSWORD: dev, EMPTY: }',
      '    healthcheck:',
      '      test: ["CMD-SHELL", "pg_isready"]',
      '      interval: 2s',
      '      retries: 5',
      '    volumes: ["data:/var/lib/postgresql/data"]',
      '    expose: ["5432"]',
      '  api:',
      '    image: orcaops/busybox',
      '    command: ["httpd", "-f", "-p", "8080"]',
      '    depends_on: { db: { condition: service_healthy } }',
      '    ports: ["8080"]',
      'volumes:',
      '  data: {}',
    ].join('\n');
    const def = parseEnvironmentFile(text, 'compose.yml');
    expect(def.name).toBe('shop');
    expect(def.sandbox).toEqual({ image: 'orcaops/python', env: { DB_HOST: 'db' } });
    expect(def.volumes).toEqual(['data']);
    expect(def.services).toEqual([
      {
        id: 'db',
        image: 'orcaops/postgres:16',
        env: { POSTGRES_PASSWORD: 'dev', EMPTY: '' },
        healthcheck: { cmd: 'pg_isready', intervalMs: 2000, retries: 5 },
        volumes: ['data:/var/lib/postgresql/data'],
        ports: ['5432'],
      },
      { id: 'api', image: 'orcaops/busybox', env: {}, command: ['httpd', '-f', '-p', '8080'], dependsOn: ['db'], ports: ['8080'], volumes: [] },
    ]);
  });

  it('names every unsupported key with its line', () => {
    const text = ['services:', '  web:', '    image: nginx', '    build: .', '    networks: [front]', 'networks:', '  front: {}'].join('\n');
    expect(problems(text)).toEqual([
      expect.stringMatching(/^compose\.yml:6: networks: unsupported key in an environment file/),
      expect.stringMatching(/^compose\.yml:4: services\.web\.build: unsupported key in an environment service/),
      expect.stringMatching(/^compose\.yml:5: services\.web\.networks: unsupported key/),
    ]);
  });

  it('refuses host ports, host bind mounts, undeclared volumes, unknown dependencies and cycles', () => {
    const text = [
      'services:',
      '  a:',
      '    image: orcaops/busybox',
      '    ports: ["8080:80"]',
      '    volumes: ["/srv:/data", "cache:/cache"]',
      '    depends_on: [b, ghost]',
      '  b:',
      '    image: orcaops/busybox',
      '    depends_on: [a]',
    ].join('\n');
    const found = problems(text).join('\n');
    expect(found).toMatch(/compose\.yml:4: services\.a\.ports: "8080:80" publishes a host port/);
    expect(found).toMatch(/services\.a\.volumes: Volume '\/srv:\/data' is a host bind mount/);
    expect(found).toMatch(/services\.a\.volumes: volume "cache" is not declared/);
    expect(found).toMatch(/services\.a\.depends_on: no service "ghost"/);
    expect(found).toMatch(/depends_on cycle a → b → a/);
  });

  it('checks health checks, conditions, names and required keys', () => {
    const text = [
      'services:',
      '  Bad_Name:',
      '    image: orcaops/busybox',
      '  noimage:',
      '    command: true',
      '  h:',
      '    image: orcaops/busybox',
      '    healthcheck: { test: ["WHAT"], interval: soon, probe: 1 }',
      '    depends_on: { noimage: { condition: service_completed_successfully } }',
    ].join('\n');
    const found = problems(text).join('\n');
    expect(found).toMatch(/compose\.yml:2: services\.Bad_Name: service names are lower-case/);
    expect(found).toMatch(/compose\.yml:4: services\.noimage\.image: required/);
    expect(found).toMatch(/services\.h\.healthcheck\.probe: unsupported key in a healthcheck/);
    expect(found).toMatch(/services\.h\.healthcheck\.test: must be \["CMD"/);
    expect(found).toMatch(/services\.h\.healthcheck\.interval: "soon" is not a duration/);
    expect(found).toMatch(/condition: "service_completed_successfully" is not supported/);
  });

  it('reports YAML syntax errors with a line and refuses a file without services', () => {
    expect(() => parseEnvironmentFile('services: [\n', 'x.yml')).toThrow(/x\.yml:\d+: YAML syntax/);
    expect(problems('name: x\n')).toEqual([expect.stringMatching(/services: required/)]);
  });

  it('disable: true and NONE turn readiness off', () => {
    const def = parseEnvironmentFile('services:\n  a: { image: orcaops/busybox, healthcheck: { disable: true } }\n  b: { image: orcaops/busybox, healthcheck: { test: [NONE] } }\n', 'c.yml');
    expect(def.services.map((s) => s.healthcheck)).toEqual(['none', 'none']);
  });
});

describe('parseEnvironmentTemplates (sandboxes.yml environments:)', () => {
  it('returns [] without the section and names the template in problems', () => {
    expect(parseEnvironmentTemplates('profiles: {}\n', 'sandboxes.yml')).toEqual([]);
    expect(() => parseEnvironmentTemplates('environments:\n  t:\n    services:\n      db: { image: orcaops/busybox, links: [x] }\n', 'sandboxes.yml')).toThrow(
      /sandboxes\.yml:4: environments\.t\.services\.db\.links: unsupported key/,
    );
  });

  it('the shipped sandboxes.yml defines web-dev, python-ml and api-testing', () => {
    const file = join(__dirname, '../../sandboxes.yml');
    const templates = parseEnvironmentTemplates(readFileSync(file, 'utf8'), file);
    expect(templates.map((t) => t.name)).toEqual(['api-testing', 'python-ml', 'web-dev']);
    const webDev = templates.find((t) => t.name === 'web-dev')!;
    expect(webDev.sandbox.image).toBe('orcaops/node');
    expect(webDev.services.map((s) => s.image).sort()).toEqual(['orcaops/postgres', 'orcaops/redis']);
  });

  it('renders each template as a project file that parses back to the same definition', () => {
    const file = join(__dirname, '../../sandboxes.yml');
    for (const template of parseEnvironmentTemplates(readFileSync(file, 'utf8'), file)) {
      const { name: _name, ...definition } = template;
      const { name: _again, ...parsed } = parseEnvironmentFile(renderEnvironmentFile(template), `${template.name}.yml`);
      expect(parsed).toEqual(definition);
    }
  });
});

describe('startWaves', () => {
  const item = (id: string, dependsOn?: string[]) => ({ service: { id, dependsOn } });
  it('orders by depends_on, parallel within a wave; no dependencies is one wave', () => {
    const waves = startWaves([item('api', ['db', 'cache']), item('db'), item('cache'), item('worker', ['api'])]);
    expect(waves.map((w) => w.map((i) => i.service.id))).toEqual([['db', 'cache'], ['api'], ['worker']]);
    expect(startWaves([item('a'), item('b')]).length).toBe(1);
  });
});
