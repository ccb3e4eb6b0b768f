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

/** Prints the four files separated by a marker, in one exec. */
export function readFilesProgram(index: number, marker: string): string {
  const dir = stepDir(index);
  return ['output', 'env', 'path', 'summary'].map((f) => `cat ${dir}/${f} 2>/dev/null; printf '\\n%s\\n' '${marker}'`).join('; ');
}

export function splitFiles(stdout: string, marker: string): { output: string; env: string; path: string; summary: string } {
  const parts = stdout.split(`\n${marker}\n`);
  const [output = '', env = '', path = '', summary = ''] = parts;
  return { output, env, path, summary };
}

export function stepDisplayName(step: StepSpec): string {
  if (step.name) return step.name;
  if (step.action.kind === 'run') return `Run ${step.action.script.split('\n')[0]!.slice(0, 80)}`;
  return step.action.uses;
}
