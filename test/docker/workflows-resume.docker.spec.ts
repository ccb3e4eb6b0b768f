import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { createTestDatabase } from '../support/database';
import { removeInstallationContainers } from '../support/docker';
import { freePort } from '../support/ports';
import { startServerProcess } from '../support/server-process';
import { removeWorkflowLeftovers, workflowLeftovers } from '../support/workflows';

jest.setTimeout(420_000);

async function http(url: string, method: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function until(base: string, token: string, id: string, done: (run: any) => boolean): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = (await http(`${base}/v1/workflows/${id}`, 'GET', token)).body;
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run did not settle: ${JSON.stringify(run, null, 1)}`);
    await sleep(300);
  }
}

const instance = (run: any, job: string): any => run.jobs.find((j: any) => j.id === job)?.instances[0];

describe('workflow resume after a server crash', () => {
  it('continues a run from the journal: finished instances are not re-run, the interrupted one is retried', async () => {
    const db = await createTestDatabase();
    const home = mkdtempSync(join(tmpdir(), 'orcaops-wf-crash-'));
    const env = { DATABASE_URL: db.url, ORCAOPS_HOME: home, ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'log' };
    let server = await startServerProcess(env, await freePort());
    try {
      const ws = await http(`${server.url}/v1/workspaces`, 'POST', TEST_ADMIN_TOKEN, { name: 'wf-crash' });
      const dev = (await http(`${server.url}/v1/workspaces/${ws.body.id}/tokens`, 'POST', TEST_ADMIN_TOKEN, { name: 'dev', role: 'developer' })).body.token as string;
      const yaml = `
jobs:
  first:
    image: orcaops/busybox
    outputs:
      token: \${{ steps.t.outputs.token }}
    steps:
      - id: t
        run: echo "token=abc-$(date +%s%N)" >> "$GITHUB_OUTPUT"
  slow:
    needs: first
    # Volumes of the interrupted attempt are removed by the resume cleanup (the leftovers check below).
    container:
      image: orcaops/busybox
      volumes: [shared:/data, /scratch]
    retry:
      max: 1
      when: [infra]
      backoff: { delay: 1s }
    steps:
      - run: |
          echo "attempt $ORCAOPS_ATTEMPT"
          test ! -e /data/attempt && echo "$ORCAOPS_ATTEMPT" > /data/attempt
          if [ "$ORCAOPS_ATTEMPT" = 1 ]; then sleep 300; fi
  last:
    needs: [first, slow]
    image: orcaops/busybox
    steps:
      - run: echo "token \${{ needs.first.outputs.token }}"
`;
      const submitted = await http(`${server.url}/v1/workflows`, 'POST', dev, { yaml });
      expect(submitted.status).toBe(201);
      const id = submitted.body.id as string;
      const before = await until(server.url, dev, id, (r) => instance(r, 'slow')?.steps?.length === 0 && !!instance(r, 'slow')?.job_id && instance(r, 'slow').status === 'running');
      const first = instance(before, 'first');
      expect(first.status).toBe('succeeded');
      // Let the first attempt's step start, then kill the server mid-workflow.
      await sleep(1500);
      await server.kill('SIGKILL');

      server = await startServerProcess(env, await freePort());
      const run = await until(server.url, dev, id, (r) => r.status === 'completed');
      expect(run.conclusion).toBe('success');
      const after = instance(run, 'first');
      expect(after).toMatchObject({ status: 'succeeded', job_id: first.job_id, outputs: first.outputs });
      expect(after.attempts).toHaveLength(1);
      const slow = instance(run, 'slow');
      expect(slow.status).toBe('succeeded');
      expect(slow.attempts.map((a: any) => a.status)).toEqual(['failed', 'succeeded']);
      expect(slow.attempts[0].reason).toBe('interrupted');
      const logs = await http(`${server.url}/v1/workflows/${id}/logs?instance=last`, 'GET', dev);
      expect(logs.body.items.map((c: any) => c.data).join('')).toContain(`token ${first.outputs.token}`);
      expect(await workflowLeftovers(id)).toEqual({ containers: [], networks: [], volumes: [] });
    } catch (error) {
      process.stderr.write(`server output (tail):\n${server.output().slice(-4000)}\n`);
      throw error;
    } finally {
      await server.kill('SIGTERM');
      await removeWorkflowLeftovers(db.url);
      await removeInstallationContainers(db.url);
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
