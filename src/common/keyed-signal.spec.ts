import { KeyedSignal } from 'src/common/keyed-signal';

describe('KeyedSignal.watch', () => {
  it('does not miss a notification that fires between two waits (while the reader reads)', async () => {
    const signal = new KeyedSignal();
    const watch = signal.watch('job-1');
    signal.notify('job-1'); // e.g. the terminal state committed while the reader was reading the row
    const started = Date.now();
    await watch.next(5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    watch.close();
  });

  it('waits for the next notification of its own key, then for the timeout', async () => {
    const signal = new KeyedSignal();
    const watch = signal.watch('a');
    const woken = watch.next(5_000);
    signal.notify('b');
    signal.notify('a');
    await woken;
    const started = Date.now();
    await watch.next(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    watch.close();
  });

  it('wakes a pending wait on abort and on close, and stops listening once closed', async () => {
    const signal = new KeyedSignal();
    const watch = signal.watch('k');
    const controller = new AbortController();
    const aborted = watch.next(5_000, controller.signal);
    controller.abort();
    await aborted;
    const closed = watch.next(5_000);
    watch.close();
    await closed;
    signal.notify('k');
    expect((signal as unknown as { emitter: { listenerCount(k: string): number } }).emitter.listenerCount('k')).toBe(0);
  });
});
