import { engineTimeouts, withEngineDeadline } from 'src/runtime/docker/engine-call';
import { RuntimeError } from 'src/runtime/runtime.errors';

describe('withEngineDeadline', () => {
  it('returns what the call returns, and never aborts its signal afterwards', async () => {
    let seen: AbortSignal | undefined;
    await expect(withEngineDeadline('inspect x', 50, (signal) => ((seen = signal), Promise.resolve(42)))).resolves.toBe(42);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(seen?.aborted).toBe(false);
  });

  it('passes the call’s own errors through', async () => {
    await expect(withEngineDeadline('inspect x', 1000, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('turns a call that never answers into engine_unavailable naming the call and the bound, and aborts it', async () => {
    let seen: AbortSignal | undefined;
    const error = await withEngineDeadline('kill container c1', 30, (signal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ code: 'engine_unavailable', message: 'Docker engine did not answer kill container c1 within 30 ms' });
    expect(seen?.aborted).toBe(true);
  });

  it('keeps the ping within 2 s whatever the call deadline', () => {
    expect(engineTimeouts(30_000)).toMatchObject({ callMs: 30_000, pingMs: 2_000 });
    expect(engineTimeouts(1_000)).toMatchObject({ callMs: 1_000, pingMs: 1_000 });
  });
});
