import { engineOperation, engineTimeouts, observeEngineCalls, withEngineDeadline } from 'src/runtime/docker/engine-call';
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

  it('reports each settled call to the observer with a bounded operation label and its failure kind', async () => {
    const seen: Array<[string, 'timeout' | 'error' | undefined]> = [];
    observeEngineCalls((operation, seconds, failure) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      seen.push([operation, failure]);
    });
    try {
      await withEngineDeadline('start container 3f2a9c', 1000, () => Promise.resolve());
      await withEngineDeadline('remove network orcaops-ws-1', 1000, () => Promise.reject(new Error('boom'))).catch(() => undefined);
      await withEngineDeadline('kill container c1', 20, () => new Promise<never>(() => undefined)).catch(() => undefined);
    } finally {
      observeEngineCalls(undefined);
    }
    expect(seen).toEqual([
      ['start_container', undefined],
      ['remove_network', 'error'],
      ['kill_container', 'timeout'],
    ]);
  });
});

describe('engineOperation', () => {
  it('keeps the operation and drops ids, names and paths', () => {
    expect(engineOperation('ping')).toBe('ping');
    expect(engineOperation('exec in container 0123abcd')).toBe('exec_container');
    expect(engineOperation('stats of container 0123abcd')).toBe('stats_container');
    expect(engineOperation('attach to container 0123abcd')).toBe('attach_container');
    expect(engineOperation('get archive 0123:/workspace/out')).toBe('get_archive');
    expect(engineOperation('put archive into 0123:/workspace')).toBe('put_archive');
    expect(engineOperation('list containers')).toBe('list_containers');
    expect(engineOperation('something new 42')).toBe('other');
  });
});
