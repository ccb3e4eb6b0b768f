import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RegistryCredentialsService } from 'src/registries/registry-credentials.service';
import { SecretsService } from 'src/secrets/secrets.service';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const FILE_VALUE = `from-file-${randomUUID()}\n`;
const STDIN_VALUE = `from-stdin-${randomUUID()}`;
const ORG_VALUE = `org-${randomUUID()}`;

/** Runs the CLI with `input` as its stdin. */
async function withStdin<T>(input: string, fn: () => Promise<T>): Promise<T> {
  const saved = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(input)]), configurable: true });
  try {
    return await fn();
  } finally {
    Object.defineProperty(process, 'stdin', saved);
  }
}

describe('orcaops secrets set|list|delete and admin rotate-secrets-key (CLI)', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let env: Record<string, string>;
  const outputs: string[] = [];
  const cli = async (args: string[], extra: Record<string, string> = {}): Promise<{ stdout: string; exitCode: number }> => {
    const run = await runCli(args, { ...env, ...extra });
    outputs.push(run.stdout, run.stderr);
    return run;
  };

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    a = await seedWorkspace(t.app, 'cli-secrets');
    env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: a.tokens.admin.token, ORCAOPS_HOME: t.home };
  });
  afterAll(() => t?.close());

  it('sets from a file (as is) and from stdin (one trailing newline dropped), lists names only, deletes', async () => {
    const file = join(t.home, 'value.txt');
    writeFileSync(file, FILE_VALUE);
    const fromFile = await cli(['--json', 'secrets', 'set', 'FROM_FILE', '--from-file', file]);
    expect(fromFile.exitCode).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ name: 'FROM_FILE', scope: 'workspace', created: true });
    const fromStdin = await withStdin(`${STDIN_VALUE}\n`, () => cli(['--json', 'secrets', 'set', 'FROM_STDIN']));
    expect(fromStdin.exitCode).toBe(0);
    expect((await withStdin('', () => cli(['--json', 'secrets', 'set', 'EMPTY']))).exitCode).toBe(2);
    expect((await withStdin(ORG_VALUE, () => cli(['--json', 'secrets', 'set', 'ORG_ONE', '--org'], { ORCAOPS_TOKEN: TEST_ADMIN_TOKEN }))).exitCode).toBe(0);

    const listed = await cli(['--json', 'secrets', 'list']);
    expect(JSON.parse(listed.stdout).items.map((s: { name: string; scope: string }) => `${s.name}:${s.scope}`)).toEqual([
      'FROM_FILE:workspace',
      'FROM_STDIN:workspace',
      'ORG_ONE:organisation',
    ]);
    const table = await cli(['secrets', 'list']);
    expect(table.stdout).toContain('FROM_STDIN');
    const values = await t.app.get(SecretsService).open(a.id, ['FROM_FILE', 'FROM_STDIN', 'ORG_ONE']);
    expect(Object.fromEntries(values)).toEqual({ FROM_FILE: FILE_VALUE, FROM_STDIN: STDIN_VALUE, ORG_ONE: ORG_VALUE });

    const denied = await cli(['--json', 'secrets', 'delete', 'FROM_FILE'], { ORCAOPS_TOKEN: a.tokens.developer.token });
    expect(denied.exitCode).toBe(4);
    const missing = await cli(['--json', 'secrets', 'delete', 'NOT_THERE']);
    expect(JSON.parse(missing.stdout).error.code).toBe('not_found');
    expect(missing.exitCode).toBe(5);
  });

  it('rotates the key file: every value re-sealed under the new key, the file replaced (0600), values intact', async () => {
    const operatorEnv = { DATABASE_URL: t.databaseUrl, ORCAOPS_HOME: t.home, ORCAOPS_ENV: 'test' };
    const keyFile = join(t.home, 'secrets.key');
    const before = readFileSync(keyFile, 'utf8');
    const oldIds = await sql<{ key_id: string }>(t.databaseUrl, 'SELECT key_id FROM workspace_secrets UNION ALL SELECT key_id FROM organisation_secrets');
    expect(oldIds).toHaveLength(3);
    // Registry passwords share the key (one SecretBox): the rotation must re-seal them too.
    const put = await t.app.inject({
      method: 'PUT',
      url: '/v1/registry-credentials',
      headers: { authorization: `Bearer ${a.tokens.admin.token}` },
      payload: { host: 'ghcr.io', username: 'bot', password: 'registry-pass-1' },
    });
    expect(put.statusCode).toBe(200);
    const rotated = await cli(['--json', 'admin', 'rotate-secrets-key'], operatorEnv);
    expect(rotated.exitCode).toBe(0);
    const result = JSON.parse(rotated.stdout);
    expect(result).toMatchObject({ resealed: 3, registry_credentials_resealed: 1, key_file: keyFile });
    expect(readFileSync(keyFile, 'utf8')).not.toBe(before);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(`${keyFile}.next`)).toBe(false);
    const newIds = await sql<{ key_id: string }>(t.databaseUrl, 'SELECT key_id FROM workspace_secrets UNION ALL SELECT key_id FROM organisation_secrets');
    expect(new Set(newIds.map((r) => r.key_id))).toEqual(new Set([result.key_id]));
    expect(result.key_id).not.toBe(oldIds[0]!.key_id);
    // Run again: nothing left under another key.
    expect(JSON.parse((await cli(['--json', 'admin', 'rotate-secrets-key'], operatorEnv)).stdout).resealed).toBe(3);

    // A server started on the rotated key opens every value.
    const restarted = await createTestApp({ ORCAOPS_RUNTIME: 'fake', ORCAOPS_HOME: t.home }, { database: { url: t.databaseUrl, drop: () => Promise.resolve() } });
    try {
      const values = await restarted.app.get(SecretsService).open(a.id, ['FROM_FILE', 'FROM_STDIN', 'ORG_ONE']);
      expect(Object.fromEntries(values)).toEqual({ FROM_FILE: FILE_VALUE, FROM_STDIN: STDIN_VALUE, ORG_ONE: ORG_VALUE });
      expect((await restarted.app.get(RegistryCredentialsService).authFor(a.id, 'ghcr.io'))?.auth.password).toBe('registry-pass-1');
    } finally {
      await restarted.app.close();
    }
    const audit = await sql(t.databaseUrl, "SELECT 1 FROM audit_events WHERE action = 'secret.rotate_key'");
    expect(audit.length).toBe(2);
  });

  it('with ORCAOPS_SECRETS_KEY, needs --new-key-file and re-seals under it', async () => {
    const operatorEnv = { DATABASE_URL: t.databaseUrl, ORCAOPS_HOME: t.home, ORCAOPS_ENV: 'test', ORCAOPS_SECRETS_KEY: readFileSync(join(t.home, 'secrets.key'), 'utf8').trim() };
    expect((await cli(['--json', 'admin', 'rotate-secrets-key'], operatorEnv)).exitCode).toBe(2);
    const next = randomBytes(32).toString('base64');
    const file = join(t.home, 'next.key');
    writeFileSync(file, next, { mode: 0o600 });
    const rotated = JSON.parse((await cli(['--json', 'admin', 'rotate-secrets-key', '--new-key-file', file], operatorEnv)).stdout);
    expect(rotated).toMatchObject({ resealed: 3, next_step: expect.stringContaining('ORCAOPS_SECRETS_KEY') });
    const restarted = await createTestApp({ ORCAOPS_RUNTIME: 'fake', ORCAOPS_HOME: t.home, ORCAOPS_SECRETS_KEY: next }, { database: { url: t.databaseUrl, drop: () => Promise.resolve() } });
    try {
      expect((await restarted.app.get(SecretsService).open(a.id, ['FROM_STDIN'])).get('FROM_STDIN')).toBe(STDIN_VALUE);
    } finally {
      await restarted.app.close();
    }
  });

  it('never prints a value', () => {
    for (const value of [FILE_VALUE.trim(), STDIN_VALUE, ORG_VALUE]) expect(outputs.filter((o) => o.includes(value))).toEqual([]);
  });
});
