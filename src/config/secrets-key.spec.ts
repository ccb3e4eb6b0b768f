import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvironmentVariables } from 'src/config/env.validation';
import { createPrivateFile, loadSecretsKeys, nextKeyFile } from 'src/config/secrets-key';

describe('secrets key loading', () => {
  let home: string;
  const env = (extra: Partial<EnvironmentVariables> = {}): EnvironmentVariables => ({ ORCAOPS_HOME: home, ...extra }) as EnvironmentVariables;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'orcaops-key-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('generates the key file once, mode 0600, and reads the same key afterwards', () => {
    const first = loadSecretsKeys(env());
    expect(first.source).toBe('file');
    expect(first.primary).toHaveLength(32);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(loadSecretsKeys(env()).primary.equals(first.primary)).toBe(true);
  });

  it('creates a private file only when it does not exist (O_EXCL), never over an existing one', () => {
    const file = join(home, 'f');
    expect(createPrivateFile(file, 'one')).toBe(true);
    expect(createPrivateFile(file, 'two')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('one');
  });

  it('refuses a key file others can read, and a key that is not 32 bytes', () => {
    const { file } = loadSecretsKeys(env());
    chmodSync(file, 0o644);
    expect(() => loadSecretsKeys(env())).toThrow(/readable by others/);
    expect(() => loadSecretsKeys(env({ ORCAOPS_SECRETS_KEY: Buffer.alloc(16).toString('base64') }))).toThrow(/32-byte/);
  });

  it('prefers ORCAOPS_SECRETS_KEY, and keeps a leftover secrets.key.next as a previous key', () => {
    const key = randomBytes(32);
    const next = randomBytes(32);
    writeFileSync(nextKeyFile(join(home, 'secrets.key')), next.toString('base64'), { mode: 0o600 });
    const loaded = loadSecretsKeys(env({ ORCAOPS_SECRETS_KEY: key.toString('base64') }));
    expect(loaded).toMatchObject({ source: 'env' });
    expect(loaded.primary.equals(key)).toBe(true);
    expect(loaded.previous.map((k) => k.toString('base64'))).toEqual([next.toString('base64')]);
  });
});
