import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFilesProgram, splitFiles, stepFilesProblem, stepProgram } from 'src/workflows/runner/step-commands';

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

describe('step files are read within bounds', () => {
  let root: string;
  beforeAll(() => (root = mkdtempSync(join(tmpdir(), 'wf-step-bounds-'))));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const read = (max: number): { stdout: string; problem: string | undefined } => {
    const stdout = execFileSync('/bin/sh', ['-c', readFilesProgram(0, '--M--', max).split('/workspace/.orcaops').join(root)], { encoding: 'utf8', timeout: 10_000 });
    return { stdout, problem: stepFilesProblem(stdout, '--M--', max, false) };
  };
  const prepare = (script: string): void => {
    rmSync(join(root, 'step-1'), { recursive: true, force: true });
    execFileSync('/bin/sh', ['-c', `mkdir -p ${root}/step-1 && cd ${root}/step-1 && : > output && : > env && : > path && : > summary && ${script}`]);
  };

  it('reads regular files within the limit', () => {
    prepare(`printf 'a=1\\n' > output`);
    const { stdout, problem } = read(1024);
    expect(problem).toBeUndefined();
    expect(splitFiles(stdout, '--M--').output).toBe('a=1\n');
  });

  it('names the limit for a file over it, reading no more than limit + 1 bytes', () => {
    prepare(`head -c 5000 /dev/zero | tr '\\0' x > output`);
    const { stdout, problem } = read(1024);
    expect(problem).toBe('$GITHUB_OUTPUT is larger than the 1024-byte limit (ORCAOPS_STEP_FILE_MAX_BYTES)');
    expect(stdout.length).toBeLessThan(1024 + 200);
  });

  it('refuses a FIFO and a symlink to /dev/zero without blocking or reading them', () => {
    prepare('rm output && mkfifo output && rm env && ln -s /dev/zero env');
    const { problem } = read(1024);
    expect(problem).toBe('$GITHUB_OUTPUT is not a regular file (FIFOs, devices, directories and symlinks are refused)');
    prepare('rm summary && ln -s /dev/zero summary');
    expect(read(1024).problem).toBe('$GITHUB_STEP_SUMMARY is not a regular file (FIFOs, devices, directories and symlinks are refused)');
  });

  it('says a cut read is incomplete', () => {
    expect(stepFilesProblem('partial', '--M--', 1024, true)).toMatch(/could not read the step's files completely .*1024 bytes/);
  });
});
