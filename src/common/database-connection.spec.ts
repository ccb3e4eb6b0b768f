import { isConnectionError, retryWhileDatabaseDown } from 'src/common/database-connection';

describe('isConnectionError', () => {
  it.each([
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    [new Error('Connection terminated unexpectedly')],
    [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    [Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    [Object.assign(new Error('connection failure'), { code: '08006' })],
    [Object.assign(new Error('wrapped'), { driverError: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }) })],
  ])('treats %s as a lost connection', (error) => {
    expect(isConnectionError(error)).toBe(true);
  });

  it.each([
    [Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })],
    [Object.assign(new Error('syntax error'), { code: '42601' })],
    [new Error('something else')],
    [undefined],
  ])('does not treat %s as a lost connection', (error) => {
    expect(isConnectionError(error)).toBe(false);
  });
});

describe('retryWhileDatabaseDown', () => {
  it('retries lost connections until the write lands', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await retryWhileDatabaseDown(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error('Connection terminated unexpectedly')) : Promise.resolve('written');
      },
      { minDelayMs: 1, onRetry: (_e, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('written');
    expect(retries).toEqual([1, 2]);
  });

  it('rethrows other errors at once', async () => {
    let calls = 0;
    const failing = (): Promise<never> => {
      calls++;
      return Promise.reject(Object.assign(new Error('violates check constraint'), { code: '23514' }));
    };
    await expect(retryWhileDatabaseDown(failing, { minDelayMs: 1 })).rejects.toThrow('violates check constraint');
    expect(calls).toBe(1);
  });
});
