/**
 * The gate in front of the specs that read ../shared/workflow-corpus: a newcomer's clone without ../shared
 * gets a green run with one line saying what was skipped; CI without the corpus fails. The last cases run a
 * real child jest on a fixture spec, as `npx jest` would for a clone on its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { corpusDecision, corpusPresent, isCi, skipLine, WORKFLOW_CORPUS } from '../support/shared-corpus';

const ROOT = resolve(__dirname, '..', '..');

function childJest(env: Record<string, string>): { status: number | null; stderr: string } {
  const config = {
    rootDir: ROOT,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/fixtures/corpus-gate/gate.fixture.ts'],
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.fast.json', diagnostics: false }] },
  };
  const { CI: _ci, WORKFLOW_CORPUS: _corpus, ...inherited } = process.env;
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config), '--ci'], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('shared workflow corpus gate', () => {
  it('runs with the corpus, skips without it, fails without it under CI', () => {
    expect(corpusDecision(true, false)).toBe('run');
    expect(corpusDecision(true, true)).toBe('run');
    expect(corpusDecision(false, false)).toBe('skip');
    expect(corpusDecision(false, true)).toBe('fail');
  });

  it('reads CI as CI services set it', () => {
    expect([undefined, '', '0', 'false', 'FALSE'].map(isCi)).toEqual([false, false, false, false, false]);
    expect(['true', '1', 'woodpecker'].map(isCi)).toEqual([true, true, true]);
  });

  it('finds the corpus by its README, beside the repository unless WORKFLOW_CORPUS says otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orcaops-corpus-'));
    try {
      expect(corpusPresent(dir)).toBe(false);
      writeFileSync(join(dir, 'README.md'), '# corpus\n');
      expect(corpusPresent(dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (!process.env.WORKFLOW_CORPUS) expect(WORKFLOW_CORPUS).toBe(resolve(ROOT, '..', 'shared', 'workflow-corpus'));
  });

  it('a clone on its own: the corpus spec is skipped, the run is green, one line says why', () => {
    const { status, stderr } = childJest({});
    expect(status).toBe(0);
    const line = skipLine('needs the corpus', '/nonexistent/workflow-corpus').trimEnd();
    expect(stderr.split('\n').filter((l) => l.includes('shared workflow corpus'))).toEqual([line]);
    expect(stderr).toMatch(/1 skipped/);
    expect(stderr).not.toMatch(/ran without the corpus/);
  }, 150_000);

  it('under CI a missing corpus fails the run, saying what is missing', () => {
    const { status, stderr } = childJest({ CI: 'true' });
    expect(status).toBe(1);
    expect(stderr).toMatch(/shared workflow corpus is missing at \/nonexistent\/workflow-corpus and CI is set/);
  }, 150_000);
});
