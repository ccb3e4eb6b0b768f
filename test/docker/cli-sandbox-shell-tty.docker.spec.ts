import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { seedWorkspace } from '../support/tenants';

/**
 * `orcaops sandbox shell ID` in a real pseudo-terminal: the CLI (built from source) runs in a tmux pane,
 * keys are typed with send-keys and the screen is read with capture-pane. tmux is installed by
 * scripts/setup.sh; without it this suite is skipped with a message.
 */
const ROOT = resolve(__dirname, '..', '..');
const SOCKET = `orcaops-tty-${process.pid}`;
let session = 'shell';
const EXIT_MARK = 'CLI-EXITED:';

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tmuxAvailable = hasTmux();
if (!tmuxAvailable) {
  console.warn('cli-sandbox-shell-tty: tmux is not installed (scripts/setup.sh installs it as root on Debian) — skipping the TTY tests');
}
const describeTty = tmuxAvailable ? describe : describe.skip;

const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = (): string => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session);
const keys = (...k: string[]): void => void tmux('send-keys', '-t', session, ...k);
const type = (line: string): void => {
  tmux('send-keys', '-t', session, '-l', line);
  keys('Enter');
};
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls the screen every 100 ms until `test` holds (tmux offers no event for "this text appeared"). */
async function waitForScreen(test: (text: string) => boolean, what: string, seconds: number): Promise<string> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const text = screen();
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}; screen:\n${text}`);
    await sleep(100);
  }
}

/** Prompt lines on the screen ("sandbox$ ", "/tmp [130]$ echo after"), typed-after or not. */
const prompts = (text: string): number => text.split('\n').filter((l) => /^(sandbox|\/\S*)( \[\d+\])?\$( |$)/.test(l)).length;

describeTty('orcaops sandbox shell in a real terminal (tmux → CLI → REST → Docker)', () => {
  let t: TestApp;
  let dir: string;
  let sbx: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const ws = await seedWorkspace(t.app, 'cli-tty');
    dir = mkdtempSync(join(tmpdir(), 'orcaops-cli-tty-'));
    const created = await api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox' } });
    expect(created.status).toBe(201);
    sbx = created.body.id;
    env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.developer.token, ORCAOPS_HOME: dir, NO_COLOR: '1' };
  });

  /** Starts the CLI in a new tmux session (a fresh pseudo-terminal) that later keys and screens go to. */
  function startCli(name: string): void {
    session = name;
    const cli = `node -r ts-node/register/transpile-only -r tsconfig-paths/register src/cli/main.ts sandbox shell ${sbx}`;
    const exports = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    // The pane outlives the CLI so that its exit code stays readable on the screen.
    const script = `cd ${shellQuote(ROOT)} && env ${exports} ${cli}; echo "${EXIT_MARK}$?"; sleep 600`;
    tmux('new-session', '-d', '-s', name, '-x', '160', '-y', '50', script);
  }
  afterAll(async () => {
    try {
      const socket = tmux('display-message', '-p', '#{socket_path}').trim();
      tmux('kill-server');
      rmSync(socket, { force: true }); // kill-server leaves the socket file behind
    } catch {
      // no server was started
    }
    if (t) {
      await removeInstallationContainers(t.databaseUrl);
      await t.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps cwd and variables, interrupts with Ctrl-C and leaves with exit (code 0)', async () => {
    startCli('state');
    // ts-node compiles the CLI on start: the first prompt can take a few seconds.
    await waitForScreen((s) => /sandbox\$\s*$/m.test(s), 'the first prompt', 30);

    type('cd /tmp');
    await waitForScreen((s) => /^\/tmp\$\s*$/m.test(s), 'the /tmp prompt after cd', 10);
    type('export X=42');
    await waitForScreen((s) => prompts(s) >= 3, 'the prompt after export', 10);
    type('pwd; echo $X');
    let text = await waitForScreen((s) => /^42$/m.test(s), 'the output of pwd; echo $X', 10);
    expect(text).toMatch(/^\/tmp$/m);

    // Ctrl-C right away (the run request may still be in flight) and again while the command is polled.
    for (const delayMs of [0, 1500]) {
      type('sleep 100');
      const before = await waitForScreen((s) => /\$ sleep 100$/m.test(s), 'the typed sleep', 5).then(prompts);
      await sleep(delayMs);
      const interruptedAt = Date.now();
      keys('C-c');
      text = await waitForScreen((s) => prompts(s) > before, `the prompt after Ctrl-C (${delayMs} ms in)`, 2);
      expect(Date.now() - interruptedAt).toBeLessThanOrEqual(2000);
      expect(text).toMatch(/\[130\]\$\s*$/m); // the prompt shows the interrupted command's exit code
    }

    type('echo after');
    await waitForScreen((s) => /^after$/m.test(s), 'the output of echo after', 10);

    type('exit');
    text = await waitForScreen((s) => s.includes(EXIT_MARK), 'the CLI to end', 10);
    expect(text).toContain(`${EXIT_MARK}0`);
    expect(text).not.toMatch(/error:/);
  });

  it('ends on EOF (Ctrl-D) at the prompt with code 0, on a fresh line', async () => {
    startCli('eof');
    await waitForScreen((s) => /sandbox\$\s*$/m.test(s), 'the first prompt', 30);
    keys('C-d');
    const text = await waitForScreen((s) => s.includes(EXIT_MARK), 'the CLI to end', 10);
    expect(text).toMatch(new RegExp(`^${EXIT_MARK}0$`, 'm'));
  });
});
