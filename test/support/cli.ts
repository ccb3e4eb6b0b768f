import { buildProgram } from 'src/cli/main';
import { resetEnvCache } from 'src/config/orcaops.config';

export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs the `orcaops` CLI in-process (same code as the binary) with captured output and environment. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(chunk.toString());
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(chunk.toString());
    return true;
  });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  resetEnvCache();
  process.exitCode = undefined;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'orcaops', ...args]);
    return { stdout: out.join(''), stderr: err.join(''), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.env = saved;
    resetEnvCache();
    process.exitCode = undefined;
    stdout.mockRestore();
    stderr.mockRestore();
  }
}
