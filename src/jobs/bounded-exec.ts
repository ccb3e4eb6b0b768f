import type { ContainerRuntime } from 'src/runtime/container-runtime.port';

/** Default cap on what a step driver's helper exec may print (DrivenJobIo.exec). */
export const DRIVER_EXEC_MAX_BYTES = 8 * 1024 * 1024;

export interface BoundedExecResult {
  exitCode: number | null;
  stdout: string;
  /** stdout went over `maxBytes`: the exec was stopped and `stdout` holds only the first maxBytes. */
  truncated: boolean;
}

/**
 * A helper program's exec whose stdout the server keeps (docs/security.md, "Container output bounds"):
 * the container controls what it prints, so stdout is kept up to `maxBytes` and the exec is stopped as
 * soon as it prints more (no reading to the end of an endless stream), within `timeoutMs`. stderr is dropped.
 */
export async function boundedExec(
  runtime: ContainerRuntime,
  containerId: string,
  command: string[],
  options: { timeoutMs: number; maxBytes: number; signal?: AbortSignal },
): Promise<BoundedExecResult> {
  const parts: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  try {
    const result = await runtime.exec(containerId, {
      command,
      timeoutMs: options.timeoutMs,
      signal: stop.signal,
      onOutput: (stream, chunk) => {
        if (stream !== 'stdout' || truncated) return;
        const room = options.maxBytes - size;
        if (chunk.length > room) {
          parts.push(chunk.subarray(0, room));
          size = options.maxBytes;
          truncated = true;
          stop.abort();
          return;
        }
        parts.push(chunk);
        size += chunk.length;
      },
    });
    return { exitCode: result.exitCode, stdout: Buffer.concat(parts).toString('utf8'), truncated };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
