import { KeyedGate } from 'src/common/keyed-gate';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedGate', () => {
  it('runs at most `concurrency` calls of one key at once, the rest in arrival order', async () => {
    const gate = new KeyedGate(2, 10, 'admissions');
    const blockers = [deferred(), deferred(), deferred(), deferred()];
    const order: number[] = [];
    const calls = blockers.map((b, i) =>
      gate.run('ws-a', async () => {
        order.push(i);
        await b.promise;
      }),
    );
    await Promise.resolve();
    expect(order).toEqual([0, 1]);
    expect(gate.load('ws-a')).toEqual({ active: 2, waiting: 2 });
    blockers[1]!.resolve();
    await calls[1];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    for (const b of blockers) b.resolve();
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(gate.load('ws-a')).toEqual({ active: 0, waiting: 0 });
  });

  it('does not make one key wait for another', async () => {
    const gate = new KeyedGate(1, 10, 'admissions');
    const blocker = deferred();
    const busy = gate.run('abuser', () => blocker.promise);
    await expect(gate.run('bystander', () => Promise.resolve('ran'))).resolves.toBe('ran');
    blocker.resolve();
    await busy;
  });

  it('refuses with 429 rate_limited once the queue of a key is full, and frees the slot when work throws', async () => {
    const gate = new KeyedGate(1, 1, 'job admissions');
    const blocker = deferred();
    const running = gate.run('ws', () => blocker.promise);
    const queued = gate.run('ws', () => Promise.resolve('second'));
    await expect(gate.run('ws', () => Promise.resolve('third'))).rejects.toMatchObject({
      code: 'rate_limited',
      details: { retry_after_seconds: 1 },
    });
    blocker.resolve();
    await running;
    await expect(queued).resolves.toBe('second');
    await expect(gate.run('ws', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run('ws', () => Promise.resolve('after'))).resolves.toBe('after');
  });
});
