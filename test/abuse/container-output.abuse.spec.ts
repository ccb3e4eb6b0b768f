import { startAbuseServer, type AbuseServer } from './support/abuse-server';

// A hostile tenant makes its containers produce more than the server should ever read: endless output,
// huge or special files where the server expects small regular ones, archives full of bad entries.
// Every read is bounded in bytes and time; the abuser gets a failed job/step or a 4xx naming the limit,
// and the server (health, memory, the bystander) does not notice. docs/security.md, "Container output bounds".
jest.setTimeout(300_000);

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

describe('abuse: container output', () => {
  let s: AbuseServer;
  let token: string;
  const sandboxes: string[] = [];

  beforeAll(async () => {
    s = await startAbuseServer();
    token = s.abuser.developer;
  });
  afterAll(async () => {
    for (const id of sandboxes) await s?.request('DELETE', `/v1/sandboxes/${id}`, { token }).catch(() => undefined);
    await s?.close();
  });

  const runJob = async (body: Record<string, unknown>): Promise<any> => {
    const created = await s.request('POST', '/v1/jobs', { token, body });
    if (created.status !== 201) throw new Error(`POST /v1/jobs: ${created.status} ${created.text}`);
    for (;;) {
      const waited = await s.request('GET', `/v1/jobs/${created.body.id}/wait?timeout_seconds=60`, { token });
      if (waited.status !== 200) throw new Error(`wait: ${waited.status} ${waited.text}`);
      if (TERMINAL.has(waited.body.status)) return waited.body;
    }
  };

  const logText = async (jobId: string): Promise<string> => {
    const page = await s.request('GET', `/v1/jobs/${jobId}/logs?format=text&limit=5000`, { token });
    expect(page.status).toBe(200);
    return page.text;
  };

  const runWorkflow = async (yaml: string): Promise<any> => {
    const submitted = await s.request('POST', '/v1/workflows', { token, body: { yaml } });
    if (submitted.status !== 201) throw new Error(`POST /v1/workflows: ${submitted.status} ${submitted.text}`);
    const until = Date.now() + 240_000;
    for (;;) {
      const run = await s.request('GET', `/v1/workflows/${submitted.body.id}`, { token });
      if (run.body?.status === 'completed') return run.body;
      if (Date.now() > until) throw new Error(`workflow did not complete: ${run.text}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };

  const notesOf = (run: any): string[] => run.jobs.flatMap((j: any) => j.instances.flatMap((i: any) => i.notes ?? []));

  const sandbox = async (): Promise<string> => {
    // A 1 GiB workspace: the file size limit (ulimit fsize) is the workspace size, so a 1 GiB sparse file fits.
    const created = await s.request('POST', '/v1/sandboxes', { token, body: { image: 'orcaops/busybox', ttl_seconds: 600, resources: { disk_mb: 1024 } } });
    if (created.status !== 201) throw new Error(`POST /v1/sandboxes: ${created.status} ${created.text}`);
    sandboxes.push(created.body.id as string);
    return created.body.id as string;
  };

  const exec = async (id: string, command: string): Promise<any> => {
    const out = await s.request('POST', `/v1/sandboxes/${id}/exec`, { token, body: { command, timeout_seconds: 60 } });
    if (out.status !== 200) throw new Error(`exec: ${out.status} ${out.text}`);
    return out.body;
  };

  it('a job step writing /dev/zero to stdout forever is truncated at the output cap; server RSS stays flat', async () => {
    const { result } = await s.watch(() => runJob({ image: 'orcaops/busybox', command: 'cat /dev/zero', timeout_seconds: 20 }));
    expect(result.status).toBe('timed_out');
    expect(result.usage.output_truncated).toBe(true);
    // output_bytes counts what the step emitted; only the first 10 MiB (ORCAOPS_JOB_OUTPUT_CAP_BYTES) were stored.
    expect(result.usage.output_bytes).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('`cat /dev/zero > $GITHUB_OUTPUT` fails the step with a message naming the limit', async () => {
    const yaml = `
name: flood-output
jobs:
  flood:
    image: orcaops/busybox
    steps:
      - run: cat /dev/zero > "$GITHUB_OUTPUT" || true
      - run: echo not reached
`;
    const { result: run } = await s.watch(() => runWorkflow(yaml));
    expect(run.conclusion).toBe('failure');
    expect(notesOf(run).join('\n')).toMatch(/\$GITHUB_OUTPUT is larger than the 1048576-byte limit \(ORCAOPS_STEP_FILE_MAX_BYTES\)/);
  });

  it('$GITHUB_OUTPUT as a FIFO and $GITHUB_ENV as a symlink to /dev/zero are refused without a hang', async () => {
    const yaml = `
name: special-files
jobs:
  fifo:
    image: orcaops/busybox
    steps:
      - run: rm -f "$GITHUB_OUTPUT" && mkfifo "$GITHUB_OUTPUT"
  link:
    image: orcaops/busybox
    steps:
      - run: rm -f "$GITHUB_ENV" && ln -s /dev/zero "$GITHUB_ENV"
`;
    const started = Date.now();
    const { result: run } = await s.watch(() => runWorkflow(yaml));
    // Refused at once: not after the 30 s the read-back is allowed at most.
    expect(Date.now() - started).toBeLessThan(120_000);
    const notes = notesOf(run).join('\n');
    expect(notes).toMatch(/\$GITHUB_OUTPUT is not a regular file/);
    expect(notes).toMatch(/\$GITHUB_ENV is not a regular file/);
    expect(notes).not.toMatch(/could not read the step's files/);
    expect(run.conclusion).toBe('failure');
  });

  it('a sandbox file download of a huge sparse file is refused with a 413 naming the limit, at once', async () => {
    const id = await sandbox();
    expect((await exec(id, 'mkdir -p /workspace/d && truncate -s 1G /workspace/d/sparse && ls -l /workspace/d/sparse')).exit_code).toBe(0);
    const { result } = await s.watch(async () => {
      const started = Date.now();
      const file = await s.request('GET', `/v1/sandboxes/${id}/files/content?path=/workspace/d/sparse`, { token, headers: { accept: 'application/octet-stream' } });
      const archive = await s.request('GET', `/v1/sandboxes/${id}/archive?path=/workspace/d`, { token });
      return { file, archive, ms: Date.now() - started };
    });
    expect(result.file.status).toBe(413);
    expect(result.file.body.error.message).toMatch(/67108864-byte limit/);
    expect(result.archive.status).toBe(413);
    expect(result.archive.body.error.code).toBe('payload_too_large');
  });

  it('an artifact glob over a 1 GiB sparse file fails the job with artifact_error naming the limit', async () => {
    const { result } = await s.watch(() =>
      runJob({ image: 'orcaops/busybox', steps: [{ command: 'truncate -s 1G big.bin && echo small > a.txt' }], artifacts: ['big.bin', 'a.txt'], resources: { disk_mb: 1024 }, timeout_seconds: 120 }),
    );
    expect(result.status).toBe('failed');
    expect(result.reason).toBe('artifact_error');
    expect(result.message).toMatch(/big\.bin refused: larger than 67108864 bytes/);
  });

  it('an artifact tar with 100 000 bad entries lists only the first 50 refusals and counts the rest', async () => {
    const script = "import os\nos.makedirs('out')\nfor i in range(100000): os.symlink('/etc/passwd', 'out/l%d' % i)\nopen('out/ok.txt', 'w').write('ok')";
    const { result } = await s.watch(() =>
      runJob({ image: 'orcaops/python', steps: [{ args: ['python3', '-c', script] }], artifacts: ['out'], timeout_seconds: 180 }),
    );
    expect(result.status).toBe('succeeded');
    const text = await logText(result.id);
    const refusedLines = text.split('\n').filter((l) => l.includes('artifact refused:'));
    expect(refusedLines.length).toBeLessThanOrEqual(50);
    expect(text).toMatch(/artifacts: \d+ more entries refused \(not listed\)/);
    const artifacts = await s.request('GET', `/v1/jobs/${result.id}/artifacts`, { token });
    expect(JSON.stringify(artifacts.body)).toContain('out/ok.txt');
  });

  it('a sandbox exec output flood is capped at 1 MiB per stream and flagged', async () => {
    const id = await sandbox();
    const { result } = await s.watch(() => exec(id, 'head -c 200000000 /dev/zero; head -c 50000000 /dev/zero >&2; echo done >&2'));
    expect(result.exit_code).toBe(0);
    expect(result.stdout_truncated).toBe(true);
    expect(result.stderr_truncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(1024 * 1024 * 3);
  });
});
