import { randomBytes } from 'node:crypto';
import type { StepSpec } from 'src/workflows/engine/model';

/** Where a step's GITHUB_* files live inside the job container (under the job workspace). */
export const STATE_DIR = '/workspace/.orcaops';

export function stepDir(index: number): string {
  return `${STATE_DIR}/step-${index + 1}`;
}

export function stepFileEnv(index: number): Record<string, string> {
  const dir = stepDir(index);
  return {
    GITHUB_OUTPUT: `${dir}/output`,
    ORCAOPS_OUTPUT: `${dir}/output`,
    GITHUB_ENV: `${dir}/env`,
    GITHUB_PATH: `${dir}/path`,
    GITHUB_STEP_SUMMARY: `${dir}/summary`,
  };
}

const TEMPLATES: Record<string, string> = {
  bash: 'bash --noprofile --norc -eo pipefail {0}',
  sh: 'sh -e {0}',
  // Debian-based images often ship only python3.
  python: '"$(command -v python || command -v python3 || echo python)" {0}',
  pwsh: `pwsh -command ". '{0}'"`,
};

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * One POSIX sh program that creates the step's empty GITHUB_* files, writes the script to a file
 * (quoted heredoc, random delimiter: nothing in the script is expanded), prepends $GITHUB_PATH
 * entries, and execs the step's shell on it (design §2.4 "How a run step executes").
 */
export function stepProgram(index: number, script: string, shell: string | undefined, containerJob: boolean, path: string[]): string {
  const dir = stepDir(index);
  const file = `${dir}/script`;
  let delimiter = `ORCAOPS_${randomBytes(8).toString('hex')}`;
  while (script.includes(delimiter)) delimiter = `ORCAOPS_${randomBytes(8).toString('hex')}`;
  const lines = [
    `mkdir -p ${dir} && : > ${dir}/output && : > ${dir}/env && : > ${dir}/path && : > ${dir}/summary || exit 1`,
    `cat > ${file} <<'${delimiter}'`,
    script,
    delimiter,
  ];
  if (path.length) lines.push(`PATH=${shellQuote(path.join(':'))}:"$PATH"; export PATH`);
  if (shell === undefined) {
    // GitHub: container jobs use sh; runner-style jobs bash when the image has it.
    lines.push(containerJob ? `exec sh -e ${file}` : `if command -v bash >/dev/null 2>&1; then exec bash -e ${file}; else exec sh -e ${file}; fi`);
  } else {
    const template = TEMPLATES[shell] ?? shell;
    lines.push(`exec ${template.split('{0}').join(file)}`);
  }
  return lines.join('\n');
}

const STEP_FILES = ['output', 'env', 'path', 'summary'] as const;
const STEP_FILE_VARIABLES = ['$GITHUB_OUTPUT', '$GITHUB_ENV', '$GITHUB_PATH', '$GITHUB_STEP_SUMMARY'] as const;
/** Default ORCAOPS_STEP_FILE_MAX_BYTES. */
export const STEP_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Prints the four files separated by a marker, in one exec, then one status word per file. The step
 * controls these files: only regular files are read (a FIFO would block, a link to /dev/zero never
 * ends: `irregular`), and at most maxBytes + 1 bytes of each (so the host can tell "over the limit").
 */
export function readFilesProgram(index: number, marker: string, maxBytes = STEP_FILE_MAX_BYTES): string {
  const dir = stepDir(index);
  const read = STEP_FILES.map(
    (f) =>
      `f=${dir}/${f}; if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then s="$s irregular"; ` +
      `elif [ -f "$f" ]; then head -c ${maxBytes + 1} "$f"; s="$s ok"; else s="$s missing"; fi; printf '\\n%s\\n' '${marker}'`,
  );
  return ['s=', ...read, `printf '%s\\n' "$s"`].join('; ');
}

export function splitFiles(stdout: string, marker: string): { output: string; env: string; path: string; summary: string } {
  const parts = stdout.split(`\n${marker}\n`);
  const [output = '', env = '', path = '', summary = ''] = parts;
  return { output, env, path, summary };
}

/**
 * What is wrong with the files readFilesProgram printed, or undefined: a file that is not a regular
 * file, one over maxBytes, or a read that did not finish (output cut at the exec's byte cap or timeout).
 */
export function stepFilesProblem(stdout: string, marker: string, maxBytes: number, truncated: boolean): string | undefined {
  const parts = stdout.split(`\n${marker}\n`);
  const statuses = parts.length === STEP_FILES.length + 1 ? parts[STEP_FILES.length]!.trim().split(' ') : [];
  if (truncated || statuses.length !== STEP_FILES.length) {
    return `could not read the step's files completely (each is limited to ${maxBytes} bytes, ORCAOPS_STEP_FILE_MAX_BYTES)`;
  }
  for (const [i, variable] of STEP_FILE_VARIABLES.entries()) {
    if (statuses[i] === 'irregular') return `${variable} is not a regular file (FIFOs, devices, directories and symlinks are refused)`;
    if (Buffer.byteLength(parts[i]!, 'utf8') > maxBytes) return `${variable} is larger than the ${maxBytes}-byte limit (ORCAOPS_STEP_FILE_MAX_BYTES)`;
  }
  return undefined;
}

export function stepDisplayName(step: StepSpec): string {
  if (step.name) return step.name;
  if (step.action.kind === 'run') return `Run ${step.action.script.split('\n')[0]!.slice(0, 80)}`;
  return step.action.uses;
}
