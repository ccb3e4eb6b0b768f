import { packEntries } from 'src/common/hostile-tar';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { startAbuseServer, type AbuseServer } from './support/abuse-server';

// A hostile tenant's input: regular expressions, YAML, JSON, expressions, uploads and services built to
// hold the event loop or exhaust memory. Each is refused with a clear 4xx (or fails its run naming the
// limit) while /health answers within 1 s, RSS stays bounded and the bystander keeps working
// (docs/security.md, "Tenant input limits").
jest.setTimeout(300_000);

function billionLaughs(levels: number): string {
  let yaml = 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i < levels; i++) yaml += `x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  return `${yaml}jobs:\n  a:\n    image: orcaops/busybox\n    strategy:\n      matrix:\n        v: *a${levels - 1}\n    steps: [{run: echo}]\n`;
}

function doubled(times: number): string {
  let expr = "'ab'";
  for (let i = 0; i < times; i++) expr = `format('{0}{0}', ${expr})`;
  return expr;
}

describe('abuse: tenant input', () => {
  let s: AbuseServer;
  beforeAll(async () => {
    s = await startAbuseServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  async function waitForRun(token: string, id: string): Promise<any> {
    const until = Date.now() + 180_000;
    for (;;) {
      const res = await s.request('GET', `/v1/workflows/${id}/wait?timeout_seconds=30`, { token });
      if (res.body?.status === 'completed') return res.body;
      if (Date.now() > until) throw new Error(`run ${id} did not finish: ${res.text}`);
    }
  }

  it('a catastrophic regex policy: backreferences are refused at write (400), a nested quantifier is evaluated in linear time', async () => {
    const { result } = await s.watch(async () => {
      const refused = await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, { token: s.abuser.admin, body: { commands: { deny_patterns: ['(a+)\\1$', '(?=a)b'] } } });
      const saved = await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, { token: s.abuser.admin, body: { commands: { deny_patterns: ['(a+)+$', '(x+x+)+y', '^(a|aa)+$'] } } });
      const started = Date.now();
      const command = `${'a'.repeat(60_000)}!`;
      const evaluations = await Promise.all(
        Array.from({ length: 20 }, () => s.request('POST', '/v1/policies/evaluate', { token: s.abuser.developer, body: { job: { image: 'orcaops/busybox', command } } })),
      );
      return { refused, saved, evaluations, ms: Date.now() - started };
    });
    expect(result.refused.status).toBe(400);
    expect(result.refused.body.error.code).toBe('validation_failed');
    expect(result.refused.body.error.details.fields).toEqual([
      { field: 'commands.deny_patterns.0', messages: [expect.stringContaining('no backreferences or lookaround')] },
      { field: 'commands.deny_patterns.1', messages: [expect.stringContaining('no backreferences or lookaround')] },
    ]);
    expect(result.saved.status).toBe(200);
    expect(result.evaluations.map((r) => [r.status, r.body.decision])).toEqual(Array(20).fill([200, 'allowed']));
    await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, { token: s.abuser.admin, body: {} });
  });

  it('an image glob built to backtrack (*a*a*…c) is decided at once against a long image', async () => {
    const { result } = await s.watch(async () => {
      const saved = await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, { token: s.abuser.admin, body: { images: { deny: [`*${'a*'.repeat(40)}c`] } } });
      const negation = await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, { token: s.abuser.admin, body: { images: { deny: ['!(orcaops/*)'] } } });
      const evaluations = await Promise.all(
        Array.from({ length: 20 }, () => s.request('POST', '/v1/policies/evaluate', { token: s.abuser.developer, body: { job: { image: `${'a'.repeat(250)}b`, command: 'true' } } })),
      );
      return { saved, negation, evaluations };
    });
    expect(result.saved.status).toBe(200);
    expect(result.negation.status).toBe(400);
    expect(result.negation.body.error.details.fields).toEqual([{ field: 'images.deny.0', messages: [expect.stringContaining('negation')] }]);
    expect(result.evaluations.every((r) => r.status === 200 && r.body.decision === 'allowed')).toBe(true);
    await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, { token: s.abuser.admin, body: {} });
  });

  it('a billion-laughs, deeply nested or oversized YAML workflow is refused with 400 quickly', async () => {
    const { result } = await s.watch(async () => {
      const started = Date.now();
      const laughs = await Promise.all(Array.from({ length: 10 }, () => s.request('POST', '/v1/workflows', { token: s.abuser.developer, body: { yaml: billionLaughs(12) } })));
      const deep = await s.request('POST', '/v1/workflows', { token: s.abuser.developer, body: { yaml: `jobs: ${'['.repeat(60_000)}${']'.repeat(60_000)}` } });
      let wide = 'jobs:\n';
      for (let i = 0; wide.length < 900_000; i++) wide += `  j${i}:\n    image: orcaops/busybox\n    steps: [{run: echo}]\n`;
      const large = await Promise.all(Array.from({ length: 5 }, () => s.request('POST', '/v1/workflows', { token: s.abuser.developer, body: { yaml: wide } })));
      return { laughs, deep, large, ms: Date.now() - started };
    });
    for (const r of result.laughs) {
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(JSON.stringify(r.body.error.details)).toMatch(/more than 100 aliases|more than 100000 nodes/);
    }
    expect(result.deep.status).toBe(400);
    expect(JSON.stringify(result.deep.body.error.details)).toContain('deeper than 32 levels');
    for (const r of result.large) {
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body.error.details)).toContain('over the limit of 131072');
    }
    expect(result.ms).toBeLessThan(20_000);
  });

  it('a deeply nested JSON body (REST and /mcp) is refused with 400 naming the limit', async () => {
    const body = `{"yaml":${'['.repeat(480_000)}${']'.repeat(480_000)}}`;
    const { result } = await s.watch(async () =>
      Promise.all([
        ...Array.from({ length: 5 }, () => s.request('POST', '/v1/workflows', { token: s.abuser.developer, body })),
        s.request('POST', '/mcp', { token: s.abuser.developer, body, headers: { accept: 'application/json, text/event-stream' } }),
      ]),
    );
    for (const r of result) {
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.message).toContain('deeper than 32 levels');
    }
  });

  it('an expression that doubles a string 40 times fails its run naming the limit', async () => {
    const yaml = `jobs:\n  boom:\n    image: orcaops/busybox\n    steps:\n      - run: echo "\${{ ${doubled(40)} }}"\n`;
    const { result } = await s.watch(async () => {
      const submitted = await s.request('POST', '/v1/workflows', { token: s.abuser.developer, body: { yaml } });
      expect(submitted.status).toBe(201);
      return waitForRun(s.abuser.developer, submitted.body.id);
    });
    expect(result.conclusion).toBe('failure');
    expect(JSON.stringify(result)).toContain('over the limit of 1048576 characters');
  });

  it('a source upload flood gets 429 at the count and bytes caps while the bystander uploads', async () => {
    const tar = await packEntries([{ name: 'README', type: 'file', mode: 0o644, mtime: new Date(0), data: Buffer.alloc(10_000, 'x') }]);
    const set = await s.request('PUT', `/v1/workspaces/${s.abuser.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { workflow_sources: 5, workflow_source_bytes: tar.length * 8 } } });
    expect(set.status).toBe(200);
    const upload = (token: string): Promise<{ status: number; body: any; retryAfter: string | null }> =>
      fetch(`${s.url}/v1/workflows/sources`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' }, body: tar }).then(async (r) => ({
        status: r.status,
        body: await r.json(),
        retryAfter: r.headers.get('retry-after'),
      }));
    const { result } = await s.watch(async () => {
      // Two at a time: the edge lets one token send two upload bodies at once (ORCAOPS_UPLOADS_PER_TOKEN),
      // so every upload of the flood reaches the quota check.
      const flood: Awaited<ReturnType<typeof upload>>[] = [];
      for (let wave = 0; wave < 15; wave++) flood.push(...(await Promise.all([upload(s.abuser.developer), upload(s.abuser.developer)])));
      const bystander = await upload(s.bystander.developer);
      return { flood, bystander };
    });
    expect(result.flood.filter((r) => r.status === 201)).toHaveLength(5);
    const refused = result.flood.filter((r) => r.status !== 201);
    expect(refused.every((r) => r.status === 429 && r.body.error.code === 'quota_exceeded' && r.body.error.details.quota === 'workflow_sources')).toBe(true);
    expect(refused[0]!.body.error.message).toContain('at most 5 workflow sources');
    expect(result.bystander.status).toBe(201);
    // Bytes: a lower byte cap than what is stored refuses the next upload, naming workflow_source_bytes.
    await s.request('PUT', `/v1/workspaces/${s.abuser.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { workflow_sources: 100, workflow_source_bytes: tar.length * 5 } } });
    const overBytes = await upload(s.abuser.developer);
    expect([overBytes.status, overBytes.body.error.details.quota]).toEqual([429, 'workflow_source_bytes']);
    const usage = await s.request('GET', `/v1/workspaces/${s.abuser.id}/usage`, { token: s.abuser.developer });
    expect(usage.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ quota: 'workflow_sources', current: 5, limit: 100 }),
        expect.objectContaining({ quota: 'workflow_source_bytes', current: tar.length * 5 }),
      ]),
    );
  });

  it('a workflow with more services than the cap is refused before any container starts', async () => {
    const services = Array.from({ length: 12 }, (_, i) => `      s${i}:\n        image: orcaops/busybox\n        command: ["sleep", "600"]\n`).join('');
    const yaml = `jobs:\n  many:\n    image: orcaops/busybox\n    services:\n${services}    steps:\n      - run: echo never\n`;
    const { result } = await s.watch(async () => {
      const submitted = await s.request('POST', '/v1/workflows', { token: s.abuser.developer, body: { yaml } });
      expect(submitted.status).toBe(201);
      return waitForRun(s.abuser.developer, submitted.body.id);
    });
    const instance = result.jobs[0].instances[0];
    expect([instance.status, instance.reason]).toEqual(['failed', 'quota_exceeded']);
    expect(instance.message).toContain('workflow_service_containers');
    expect(instance.attempts[0].job_id).toBeNull();
  });
});
