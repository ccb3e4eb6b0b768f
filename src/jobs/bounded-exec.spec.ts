import type { ContainerSpec } from 'src/runtime/container-runtime.port';
import { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import { boundedExec } from 'src/jobs/bounded-exec';

const MiB = 1024 * 1024;
const spec: ContainerSpec = {
  name: 'orcaops-job-1',
  image: 'orcaops/busybox',
  command: ['sleep', '2147483647'],
  env: {},
  labels: { 'orcaops.kind': 'job', 'orcaops.job_id': '1' },
  resources: { cpus: 1, memoryBytes: 64 * MiB, pidsLimit: 32, tmpBytes: MiB, workspaceBytes: 4 * MiB, nofile: 256 },
  network: 'none',
};

describe('boundedExec', () => {
  let fake: FakeRuntime;
  let id: string;
  beforeEach(async () => {
    fake = new FakeRuntime();
    fake.addImage('orcaops/busybox:latest');
    id = await fake.createContainer(spec);
    await fake.startContainer(id);
  });

  it('returns stdout (not stderr) within the cap', async () => {
    fake.scriptExec('read', { output: [['stdout', 'a=1\n'], ['stderr', 'noise'], ['stdout', 'b=2\n']] });
    await expect(boundedExec(fake, id, ['read'], { timeoutMs: 1000, maxBytes: 64 })).resolves.toEqual({ exitCode: 0, stdout: 'a=1\nb=2\n', truncated: false });
  });

  it('keeps the first maxBytes and stops an exec that prints more (an endless stream is never read to its end)', async () => {
    fake.scriptExec('flood', { output: [['stdout', 'x'.repeat(700)], ['stdout', 'y'.repeat(700)], ['stdout', 'z'.repeat(700)]], hang: true });
    // The fake delivers output before it starts to hang, so it sees the abort only as its timeout here.
    const result = await boundedExec(fake, id, ['flood'], { timeoutMs: 200, maxBytes: 1000 });
    expect(result.truncated).toBe(true);
    expect(result.stdout).toBe('x'.repeat(700) + 'y'.repeat(300));
    expect(result.exitCode).toBe(137);
  });

  it('follows the caller’s abort', async () => {
    fake.scriptExec('sleep', { hang: true });
    const job = new AbortController();
    const pending = boundedExec(fake, id, ['sleep'], { timeoutMs: 60_000, maxBytes: 1000, signal: job.signal });
    job.abort();
    await expect(pending).resolves.toMatchObject({ exitCode: 137, truncated: false });
  });
});
