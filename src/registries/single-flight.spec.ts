import { SingleFlight } from 'src/registries/single-flight';

describe('SingleFlight', () => {
  it('shares one run among concurrent callers and passes its progress to each', async () => {
    const flights = new SingleFlight<string, number>();
    let runs = 0;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: number[][] = [[], []];
    const work = async (progress: (p: number) => void): Promise<string> => {
      runs += 1;
      progress(1);
      await gate;
      progress(2);
      return 'done';
    };
    const first = flights.run('k', work, (p) => seen[0]!.push(p));
    const second = flights.run('k', work, (p) => seen[1]!.push(p));
    release();
    expect(await Promise.all([first, second])).toEqual(['done', 'done']);
    expect(runs).toBe(1);
    expect(seen).toEqual([[1, 2], [2]]);
  });

  it('reuses a run that ended after the caller decided it needed one, and runs again for a later caller', async () => {
    const flights = new SingleFlight<number, never>();
    let runs = 0;
    const work = (): Promise<number> => Promise.resolve(++runs);
    const decided = Date.now();
    await flights.run('k', work);
    expect(await flights.run('k', work, undefined, undefined, decided)).toBe(1);
    expect(await flights.run('k', work, undefined, undefined, Date.now() + 1)).toBe(2);
  });

  it('lets a waiting caller give up without cancelling the run for the others, and forgets failures', async () => {
    const flights = new SingleFlight<string, never>();
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const controller = new AbortController();
    const shared = flights.run('k', () => gate.then(() => 'ok'));
    const leaving = flights.run('k', () => gate.then(() => 'ok'), undefined, controller.signal);
    controller.abort();
    await expect(leaving).rejects.toThrow('cancelled');
    release();
    await expect(shared).resolves.toBe('ok');
    await expect(flights.run('x', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(flights.size).toBe(0);
  });
});
