import { connect, type Socket } from 'node:net';
import { startAbuseServer, type AbuseServer } from './support/abuse-server';

// Response streams and sessions: a tenant holding many streams, long-polls or MCP sessions gets a
// clear 429 naming the cap while the bystander keeps being served; a stalled reader is dropped rather
// than buffered for; a client that goes away stops the work it started. Governance: four eyes.
const CAPS = {
  ORCAOPS_STREAMS_PER_TOKEN: '6',
  ORCAOPS_STREAMS_PER_WORKSPACE: '10',
  ORCAOPS_STREAM_STALL_MS: '2000',
  ORCAOPS_STREAM_BUFFER_BYTES: String(1024 * 1024),
  ORCAOPS_MCP_SESSIONS_PER_WORKSPACE: '5',
  ORCAOPS_JOB_OUTPUT_CAP_BYTES: String(128 * 1024 * 1024),
  ORCAOPS_MAX_CONCURRENT_JOBS: '8',
};

interface OpenStream {
  status: number;
  headers: Headers;
  text?: string;
  abort: () => void;
}

describe('abuse: streams and sessions', () => {
  let s: AbuseServer;
  beforeAll(async () => {
    s = await startAbuseServer(CAPS);
  }, 180_000);
  afterAll(async () => {
    await s?.close();
  }, 120_000);

  /** Opens a response and keeps it open when it answered 200; otherwise reads the error body. */
  const open = async (method: string, path: string, token: string, init: { accept?: string; body?: unknown } = {}): Promise<OpenStream> => {
    const controller = new AbortController();
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (init.accept) headers.accept = init.accept;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${s.url}${path}`, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: controller.signal,
    });
    const abort = (): void => controller.abort();
    if (response.status !== 200) return { status: response.status, headers: response.headers, text: await response.text(), abort };
    return { status: response.status, headers: response.headers, abort };
  };

  const longJob = async (token: string, command = 'sleep 120'): Promise<string> => {
    const job = await s.request('POST', '/v1/jobs', { token, body: { image: 'orcaops/busybox', command } });
    if (job.status !== 201) throw new Error(`job: ${job.status} ${job.text}`);
    return job.body.id as string;
  };

  const cancelJob = (token: string, id: string): Promise<unknown> => s.request('POST', `/v1/jobs/${id}/cancel`, { token });

  /** Aborted streams give their slots back once the server sees the close: a new stream opens again. */
  const slotsFree = async (token: string, jobId: string): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      const probe = await open('GET', `/v1/jobs/${jobId}/logs?follow=true`, token);
      probe.abort();
      if (probe.status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('stream slots were not given back after the clients went away');
  };

  it('many concurrent SSE log streams from one token are capped (429 naming the cap) while the bystander opens one', async () => {
    const jobId = await longJob(s.abuser.developer);
    const bystanderJob = await longJob(s.bystander.developer);
    const streams: OpenStream[] = [];
    try {
      await s.watch(async () => {
        for (let i = 0; i < 10; i++) streams.push(await open('GET', `/v1/jobs/${jobId}/logs?follow=true`, s.abuser.developer));
        const bystander = await open('GET', `/v1/jobs/${bystanderJob}/logs`, s.bystander.developer, { accept: 'text/event-stream' });
        streams.push(bystander);
        expect(bystander.status).toBe(200);
        expect(bystander.headers.get('content-type')).toContain('text/event-stream');
      });
      const statuses = streams.slice(0, 10).map((x) => x.status);
      expect(statuses.filter((x) => x === 200)).toHaveLength(6);
      const refused = streams.find((x) => x.status === 429)!;
      expect(refused.headers.get('retry-after')).toBe('5');
      const body = JSON.parse(refused.text!);
      expect(body.error.code).toBe('rate_limited');
      expect(body.error.message).toMatch(/at most 6 .*ORCAOPS_STREAMS_PER_TOKEN/);
    } finally {
      for (const x of streams) x.abort();
      await slotsFree(s.abuser.developer, jobId);
      await cancelJob(s.abuser.developer, jobId);
      await cancelJob(s.bystander.developer, bystanderJob);
    }
  }, 120_000);

  it('many concurrent long-polls from one workspace are capped per workspace while the bystander waits', async () => {
    const jobId = await longJob(s.abuser.developer);
    const bystanderJob = await longJob(s.bystander.developer);
    const polls: Array<Promise<OpenStream>> = [];
    const opened: OpenStream[] = [];
    try {
      await s.watch(async () => {
        // Three tokens of one workspace, each under its own cap (6): together over the workspace's (10).
        for (const token of [s.abuser.developer, s.abuser.viewer, s.abuser.admin]) {
          for (let i = 0; i < 5; i++) polls.push(open('GET', `/v1/jobs/${jobId}/wait?timeout_seconds=60`, token));
        }
        // The refused ones answer at once; the others are held until the job ends.
        const bystander = await s.request('GET', `/v1/jobs/${bystanderJob}/wait?timeout_seconds=1`, { token: s.bystander.developer });
        expect(bystander.status).toBe(200);
      });
      // Settle every poll: the refused answered; cancel the job so the held ones answer too.
      await cancelJob(s.abuser.developer, jobId);
      opened.push(...(await Promise.all(polls)));
      const statuses = opened.map((x) => x.status);
      // At most the workspace's 10 at once (fewer if an earlier case's slots were still being given back).
      expect(statuses.filter((x) => x === 200).length).toBeLessThanOrEqual(10);
      expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(5);
      const refused = opened.filter((x) => x.status === 429).map((x) => JSON.parse(x.text!)).find((b) => b.error.details.limit === 'streams_per_workspace');
      expect(refused.error).toMatchObject({ code: 'rate_limited', details: { limit: 'streams_per_workspace', max: 10 } });
      expect(refused.error.message).toMatch(/ORCAOPS_STREAMS_PER_WORKSPACE/);
    } finally {
      for (const x of opened) x.abort();
      await cancelJob(s.bystander.developer, bystanderJob);
    }
  }, 120_000);

  it('a stalled SSE reader of a job with lots of output is dropped and does not grow server RSS', async () => {
    const total = 32_000_000;
    const jobId = await longJob(s.abuser.developer, `yes | head -c ${total}`);
    const done = await s.request('GET', `/v1/jobs/${jobId}/wait?timeout_seconds=300`, { token: s.abuser.developer });
    expect(done.body.status).toBe('succeeded');
    const baseline = s.rss();
    const dropsBefore = s.server.output().split('slow stream reader dropped').length;
    let received = 0;
    let sawEnd = false;
    const { peakRss } = await s.watch(async () => {
      const { hostname: host, port } = new URL(s.url);
      const socket: Socket = connect(Number(port), host);
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.write(
        `GET /v1/jobs/${jobId}/logs HTTP/1.1\r\nhost: ${host}\r\naccept: text/event-stream\r\nauthorization: Bearer ${s.abuser.developer}\r\n\r\n`,
      );
      socket.pause(); // the stalled reader: never reads
      // The server drops it after ORCAOPS_STREAM_STALL_MS (2 s) without progress.
      for (let i = 0; i < 300 && s.server.output().split('slow stream reader dropped').length === dropsBefore; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // Now read what the kernel and the server had queued: far less than the output, and no end event.
      let tail = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString('latin1')).slice(-4096);
        if (tail.includes('event: end')) sawEnd = true;
      });
      socket.resume();
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    });
    expect(s.server.output().split('slow stream reader dropped').length).toBeGreaterThan(dropsBefore);
    expect(sawEnd).toBe(false);
    expect(received).toBeLessThan(total / 2);
    // What the server held for it is bounded by the stream buffer and one read batch, not the output.
    expect(peakRss - baseline).toBeLessThan(48 * 1024 * 1024);
  }, 400_000);

  it('a client that disconnects from a streaming exec stops the process it started', async () => {
    const created = await s.request('POST', '/v1/sandboxes', { token: s.abuser.developer, body: { image: 'orcaops/busybox', ttl_seconds: 300 } });
    expect(created.status).toBe(201);
    const sbx = created.body.id as string;
    await s.watch(async () => {
      const controller = new AbortController();
      const response = await fetch(`${s.url}/v1/sandboxes/${sbx}/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.abuser.developer}`, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'echo started; sleep 271', timeout_seconds: 600 }),
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('started')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`exec stream ended before its output: ${text}`);
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      // The process group is killed once the server sees the close.
      let ps = '';
      for (let i = 0; i < 100; i++) {
        const r = await s.request('POST', `/v1/sandboxes/${sbx}/exec`, { token: s.abuser.developer, body: { command: 'ps -o args' } });
        ps = r.body.stdout as string;
        if (!ps.includes('sleep 271')) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(ps).not.toContain('sleep 271');
    });
    await s.request('DELETE', `/v1/sandboxes/${sbx}`, { token: s.abuser.developer });
  }, 180_000);

  /** MCP over raw HTTP: initialize, then the session id (or the refusal). */
  const mcpInit = async (token: string): Promise<{ status: number; sessionId: string | null; text: string }> => {
    const response = await fetch(`${s.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'abuse', version: '1' } } }),
    });
    const text = await response.text();
    const sessionId = response.headers.get('mcp-session-id');
    if (sessionId) {
      await fetch(`${s.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      }).then((r) => r.text());
    }
    return { status: response.status, sessionId, text };
  };
  const mcpClose = (token: string, sessionId: string): Promise<unknown> =>
    fetch(`${s.url}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId } }).then((r) => r.text());

  it('an MCP session flood from one workspace is capped (429 naming the cap) while the bystander opens one', async () => {
    const opened: Array<{ token: string; id: string }> = [];
    try {
      const { result } = await s.watch(async () => {
        const answers: Array<{ status: number; text: string }> = [];
        for (let i = 0; i < 8; i++) {
          const token = i % 2 === 0 ? s.abuser.developer : s.abuser.viewer;
          const r = await mcpInit(token);
          if (r.sessionId) opened.push({ token, id: r.sessionId });
          answers.push(r);
        }
        const bystander = await mcpInit(s.bystander.developer);
        expect(bystander.status).toBe(200);
        if (bystander.sessionId) opened.push({ token: s.bystander.developer, id: bystander.sessionId });
        return answers;
      });
      expect(result.filter((r) => r.status === 200)).toHaveLength(5);
      const refused = result.find((r) => r.status === 429)!;
      const body = JSON.parse(refused.text);
      expect(body.error).toMatchObject({ code: 'rate_limited', details: { limit: 'mcp_sessions_per_workspace', max: 5 } });
      expect(body.error.message).toMatch(/ORCAOPS_MCP_SESSIONS_PER_WORKSPACE/);
    } finally {
      for (const x of opened) await mcpClose(x.token, x.id);
    }
  }, 120_000);

  it('an MCP client that disconnects from run_job gets its job cancelled', async () => {
    const init = await mcpInit(s.abuser.developer);
    const sessionId = init.sessionId!;
    try {
      const listed = await s.request('GET', '/v1/jobs?limit=100', { token: s.abuser.developer });
      const before = new Set((listed.body.items as Array<{ id: string }>).map((j) => j.id));
      await s.watch(async () => {
        const controller = new AbortController();
        const call = fetch(`${s.url}/mcp`, {
          method: 'POST',
          headers: { authorization: `Bearer ${s.abuser.developer}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': sessionId },
          body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'run_job', arguments: { image: 'orcaops/busybox', command: 'sleep 283', wait_seconds: 600 } } }),
          signal: controller.signal,
        }).catch(() => undefined);
        let jobId: string | undefined;
        for (let i = 0; i < 200 && !jobId; i++) {
          const list = await s.request('GET', '/v1/jobs?limit=5', { token: s.abuser.developer });
          jobId = (list.body.items as Array<{ id: string; status: string }>).find((j) => !before.has(j.id) && j.status === 'running')?.id;
          if (!jobId) await new Promise((r) => setTimeout(r, 100));
        }
        expect(jobId).toBeDefined();
        controller.abort(); // no notifications/cancelled: the connection just goes away
        await call;
        const job = await s.request('GET', `/v1/jobs/${jobId}/wait?timeout_seconds=60`, { token: s.abuser.developer });
        expect(job.body.status).toBe('cancelled');
      });
    } finally {
      await mcpClose(s.abuser.developer, sessionId);
    }
  }, 180_000);

  it('a requester cannot approve their own held job (403), another approver can', async () => {
    const policy = await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, {
      token: s.abuser.admin,
      body: { resources: { approval_above: { timeout_seconds: 30 } } },
    });
    expect(policy.status).toBe(200);
    try {
      await s.watch(async () => {
        const job = await s.request('POST', '/v1/jobs', { token: s.abuser.admin, body: { image: 'orcaops/busybox', command: 'true', timeout_seconds: 60 } });
        expect(job.status).toBe(201);
        expect(job.body.status).toBe('awaiting_approval');
        const approvalId = job.body.approval.id as string;
        const self = await s.request('POST', `/v1/approvals/${approvalId}/approve`, { token: s.abuser.admin, body: { comment: 'lgtm (me)' } });
        expect(self.status).toBe(403);
        expect(self.body.error.code).toBe('forbidden');
        expect(self.body.error.message).toMatch(/cannot approve it yourself.*allow_self_approval/);
        const stillHeld = await s.request('GET', `/v1/jobs/${job.body.id}`, { token: s.abuser.admin });
        expect(stillHeld.body.status).toBe('awaiting_approval');
        const second = await s.request('POST', `/v1/workspaces/${s.abuser.id}/tokens`, { token: s.abuser.admin, body: { name: 'second-approver', role: 'admin' } });
        const other = await s.request('POST', `/v1/approvals/${approvalId}/approve`, { token: second.body.token, body: { comment: 'lgtm' } });
        expect(other.status).toBe(200);
      });
    } finally {
      await s.request('PUT', `/v1/workspaces/${s.abuser.id}/policy`, { token: s.abuser.admin, body: {} });
    }
  }, 120_000);
});
