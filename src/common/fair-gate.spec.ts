import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { FairGate, type FairGateOptions, type Release } from 'src/common/fair-gate';

const OPTIONS: FairGateOptions = { capacity: 4, minShare: 1, maxWaitingPerKey: 10, maxWaitMs: 60_000, what: 'requests' };

/** Acquires and records the order in which the slots were granted. */
function taker(gate: FairGate, granted: string[]) {
  return (key: string, label: string = key, signal?: AbortSignal): Promise<Release> =>
    gate.acquire(key, signal).then((release) => {
      granted.push(label);
      return release;
    });
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FairGate', () => {
  afterEach(() => jest.useRealTimers());

  it('lets a single key use the whole capacity, then queues it first-in-first-out', async () => {
    const gate = new FairGate(OPTIONS);
    const granted: string[] = [];
    const take = taker(gate, granted);
    const held = await Promise.all([1, 2, 3, 4].map((i) => take('a', `a${i}`)));
    const later = [take('a', 'a5'), take('a', 'a6')];
    await settle();
    expect(gate.load('a')).toEqual({ active: 4, waiting: 2 });
    held[0]!();
    held[0]!(); // a second call frees nothing more
    await settle();
    expect(granted).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(gate.load('a')).toEqual({ active: 4, waiting: 1 });
    for (const r of [...held.slice(1), ...(await Promise.all(later.slice(0, 1)))]) r();
    (await later[1]!)();
    expect(gate.load()).toEqual({ active: 0, waiting: 0 });
  });

  it('starts another key at once within its minimum share while one key holds the whole capacity', async () => {
    const gate = new FairGate({ ...OPTIONS, minShare: 2 });
    const granted: string[] = [];
    const take = taker(gate, granted);
    const abuser = await Promise.all([1, 2, 3, 4].map((i) => take('abuser', `x${i}`)));
    const queued = take('abuser', 'x5');
    const b1 = await take('good', 'g1');
    const b2 = await take('good', 'g2');
    expect(gate.load('good')).toEqual({ active: 2, waiting: 0 });
    expect(gate.load('abuser')).toEqual({ active: 4, waiting: 1 });
    for (const r of [b1, b2, ...abuser]) r();
    (await queued)();
    expect(gate.load()).toEqual({ active: 0, waiting: 0 });
  });

  it('gives freed slots to the keys in turn, so a flooding key gets capacity / busy keys', async () => {
    const gate = new FairGate(OPTIONS);
    const granted: string[] = [];
    const take = taker(gate, granted);
    const abuserHeld = await Promise.all([1, 2, 3, 4].map((i) => take('abuser', `x${i}`)));
    const abuserWaiting = [5, 6, 7, 8].map((i) => take('abuser', `x${i}`));
    // The good key is over its minimum share (1) only once it holds one: its second request waits its turn.
    const g1 = await take('good', 'g1');
    const goodWaiting = [take('good', 'g2'), take('good', 'g3')];
    await settle();
    expect(gate.share()).toBe(2);
    // The capacity is full (3 + 1): a freed slot goes to nobody yet.
    abuserHeld[0]!();
    await settle();
    expect(granted).toEqual(['x1', 'x2', 'x3', 'x4', 'g1']);
    // Two keys, a share of 2 each: the first freed slot goes to the good key (the abuser still holds its
    // 2), the next to the abuser.
    abuserHeld[1]!();
    abuserHeld[2]!();
    await settle();
    expect(granted.slice(5)).toEqual(['g2', 'x5']);
    expect(gate.load('abuser')).toEqual({ active: 2, waiting: 3 });
    expect(gate.load('good')).toEqual({ active: 2, waiting: 1 });
    // The good key frees a slot: its own next request takes it (the abuser is at its share).
    g1();
    await settle();
    expect(granted.slice(7)).toEqual(['g3']);
    for (const r of [abuserHeld[3]!, ...(await Promise.all(goodWaiting))]) r();
    await settle();
    // The good key is gone: the abuser may use the whole capacity again.
    expect(gate.share()).toBe(4);
    const rest = await Promise.all(abuserWaiting);
    expect(gate.load('abuser')).toEqual({ active: 4, waiting: 0 });
    for (const r of rest) r();
    expect(gate.load()).toEqual({ active: 0, waiting: 0 });
  });

  it('refuses with 429 when a key already has maxWaitingPerKey requests waiting, without touching other keys', async () => {
    const gate = new FairGate({ ...OPTIONS, capacity: 1, maxWaitingPerKey: 2 });
    const held = await gate.acquire('a');
    const waiting = [gate.acquire('a'), gate.acquire('a')];
    const refused = await gate.acquire('a').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OrcaOpsError);
    expect(refused).toMatchObject({ code: 'rate_limited', details: { in_progress: 1, waiting: 2, retry_after_seconds: 1 } });
    expect((refused as Error).message).toMatch(/Too many requests in progress for this workspace/);
    // Another key still starts within its minimum share.
    const other = await gate.acquire('b');
    other();
    held();
    (await waiting[0]!)();
    (await waiting[1]!)();
    expect(gate.load()).toEqual({ active: 0, waiting: 0 });
  });

  it('refuses a request that waited maxWaitMs with 429 and frees its place', async () => {
    jest.useFakeTimers();
    const gate = new FairGate({ ...OPTIONS, capacity: 1, maxWaitMs: 5_000 });
    const held = await gate.acquire('a');
    const waiting = gate.acquire('a');
    const outcome = waiting.catch((e: unknown) => e);
    jest.advanceTimersByTime(5_000);
    expect(await outcome).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/none free within 5000 ms/) });
    expect(gate.load('a')).toEqual({ active: 1, waiting: 0 });
    held();
    expect(gate.load()).toEqual({ active: 0, waiting: 0 });
  });

  it('drops a waiter whose client went away (abort signal), and the next one gets the slot', async () => {
    const gate = new FairGate({ ...OPTIONS, capacity: 1 });
    const granted: string[] = [];
    const take = taker(gate, granted);
    const held = await take('a', 'a1');
    const gone = new AbortController();
    const abandoned = take('a', 'a2', gone.signal).catch((e: unknown) => e);
    const next = take('a', 'a3');
    gone.abort(new Error('client closed'));
    expect(await abandoned).toMatchObject({ message: 'client closed' });
    expect(gate.load('a')).toEqual({ active: 1, waiting: 1 });
    held();
    (await next)();
    expect(granted).toEqual(['a1', 'a3']);
    // An already-aborted signal never queues.
    const early = new AbortController();
    early.abort(new Error('gone before'));
    const h = await gate.acquire('a');
    await expect(gate.acquire('a', early.signal)).rejects.toThrow('gone before');
    h();
    expect(gate.load()).toEqual({ active: 0, waiting: 0 });
  });

  it('keeps no state for idle keys', async () => {
    const gate = new FairGate(OPTIONS);
    for (let i = 0; i < 100; i++) (await gate.acquire(`ws-${i}`))();
    expect(gate.share()).toBe(4);
    expect(gate.load()).toEqual({ active: 0, waiting: 0 });
  });
});
