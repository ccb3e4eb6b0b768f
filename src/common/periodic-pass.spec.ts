import { Logger } from '@nestjs/common';
import { PeriodicPass } from 'src/common/periodic-pass';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('PeriodicPass', () => {
  const logger = new Logger('test');
  beforeEach(() => jest.spyOn(logger, 'warn').mockImplementation(() => undefined));

  it('joins a pass in flight instead of starting a second one, and starts a new one after it ends', async () => {
    const gates = [deferred<number>(), deferred<number>()];
    let calls = 0;
    const pass = new PeriodicPass({
      name: 'p',
      intervalMs: 60_000,
      pass: () => gates[calls++]!.promise,
      fallback: -1,
      logger,
    });
    const first = pass.run();
    const joined = pass.run();
    expect(calls).toBe(1);
    gates[0]!.resolve(7);
    expect(await Promise.all([first, joined])).toEqual([7, 7]);
    const second = pass.run();
    expect(calls).toBe(2);
    gates[1]!.resolve(8);
    expect(await second).toBe(8);
  });

  it('logs a failed pass and yields the fallback', async () => {
    const pass = new PeriodicPass({
      name: 'cleanup',
      intervalMs: 60_000,
      pass: () => Promise.reject(new Error('db down')),
      fallback: 0,
      logger,
    });
    expect(await pass.run()).toBe(0);
    expect(logger.warn).toHaveBeenCalledWith({ msg: 'cleanup failed', err: 'Error: db down' });
  });

  it('runs on its interval until stopped; stop waits for the pass in flight', async () => {
    jest.useFakeTimers();
    try {
      const gate = deferred<number>();
      let calls = 0;
      const pass = new PeriodicPass({
        name: 'p',
        intervalMs: 1_000,
        pass: () => (calls++, gate.promise),
        fallback: 0,
        logger,
      });
      pass.start();
      jest.advanceTimersByTime(999);
      expect(calls).toBe(0);
      jest.advanceTimersByTime(1);
      expect(calls).toBe(1);
      let stopped = false;
      const stopping = pass.stop().then(() => (stopped = true));
      await Promise.resolve();
      expect(stopped).toBe(false);
      gate.resolve(1);
      await stopping;
      jest.advanceTimersByTime(5_000);
      expect(calls).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
