import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFilesProgram, splitFiles, stepProgram } from 'src/workflows/runner/step-commands';

describe('step programs', () => {
  let root: string;
  beforeAll(() => (root = mkdtempSync(join(tmpdir(), 'wf-step-'))));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const run = (program: string): string => execFileSync('/bin/sh', ['-c', program.split('/workspace/.orcaops').join(root)], { encoding: 'utf8' });

  it('writes the script verbatim (no expansion) and runs it with sh -e', () => {
    const out = run(stepProgram(0, 'echo "$((1+2)) $HOME_NOT_SET"\necho \'quoted\' `echo x`', 'sh', true, []));
    expect(out).toBe('3 \nquoted x\n');
    expect(readFileSync(join(root, 'step-1', 'output'), 'utf8')).toBe('');
  });

  it('prepends GITHUB_PATH entries', () => {
    expect(run(stepProgram(1, 'echo "$PATH"', undefined, true, ['/opt/x/bin'])).startsWith('/opt/x/bin:')).toBe(true);
  });

  it('reads the four files back in one program', () => {
    run(stepProgram(2, 'echo a=1 > "$0.out"', 'sh', true, []));
    execFileSync('/bin/sh', ['-c', `printf 'x=1\\ny<<E\\nl1\\nE\\n' > ${root}/step-3/output; printf 'K=v' > ${root}/step-3/env`]);
    const stdout = run(readFilesProgram(2, '--M--'));
    expect(splitFiles(stdout, '--M--')).toEqual({ output: 'x=1\ny<<E\nl1\nE\n', env: 'K=v', path: '', summary: '' });
  });
});
