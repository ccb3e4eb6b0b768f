import { ConfigValidationError, unknownOrcaopsVariables, validateEnv } from 'src/config/env.validation';

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    validateEnv(raw);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  return [];
}

const TOKEN_32 = 'x'.repeat(32);

describe('validateEnv', () => {
  it('should accept an empty environment with safe defaults', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      ORCAOPS_ENV: 'development',
      ORCAOPS_HOST: '127.0.0.1',
      ORCAOPS_PORT: 8000,
      ORCAOPS_RUNTIME: 'docker',
      ORCAOPS_MAX_BODY_BYTES: 1024 * 1024,
    });
    expect(env.ORCAOPS_ADMIN_TOKEN).toBeUndefined();
  });

  it('should convert numeric variables from their string form', () => {
    expect(validateEnv({ ORCAOPS_PORT: '8080', ORCAOPS_MAX_BODY_BYTES: '4096' })).toMatchObject({
      ORCAOPS_PORT: 8080,
      ORCAOPS_MAX_BODY_BYTES: 4096,
    });
  });

  describe('ORCAOPS_METRICS_TOKEN', () => {
    it('should refuse a token shorter than 32 characters without echoing it, and accept 32', () => {
      const secret = 'metrics-secret-too-short';
      expect(problemsOf({ ORCAOPS_METRICS_TOKEN: secret })[0]).toMatch(/^ORCAOPS_METRICS_TOKEN: .*at least 32 characters/);
      expect(() => validateEnv({ ORCAOPS_METRICS_TOKEN: secret })).toThrow(expect.objectContaining({ message: expect.not.stringContaining(secret) }));
      expect(validateEnv({ ORCAOPS_METRICS_TOKEN: TOKEN_32 }).ORCAOPS_METRICS_TOKEN).toBe(TOKEN_32);
    });
  });

  describe('ORCAOPS_ADMIN_TOKEN', () => {
    it('should refuse a token shorter than 32 characters, naming the variable', () => {
      const problems = problemsOf({ ORCAOPS_ADMIN_TOKEN: TOKEN_32.slice(1) });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^ORCAOPS_ADMIN_TOKEN: .*at least 32 characters/);
      expect(() => validateEnv({ ORCAOPS_ADMIN_TOKEN: 'short' })).toThrow(/ORCAOPS_ADMIN_TOKEN/);
    });

    it('should never echo the rejected token in the message', () => {
      const secret = 'my-secret-but-too-short';
      expect(() => validateEnv({ ORCAOPS_ADMIN_TOKEN: secret })).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining(secret) }),
      );
    });

    it('should accept a token of 32 characters', () => {
      expect(validateEnv({ ORCAOPS_ADMIN_TOKEN: TOKEN_32 }).ORCAOPS_ADMIN_TOKEN).toBe(TOKEN_32);
    });
  });

  describe('production', () => {
    it('should refuse ORCAOPS_RUNTIME=fake', () => {
      const problems = problemsOf({ ORCAOPS_ENV: 'production', ORCAOPS_RUNTIME: 'fake' });
      expect(problems).toEqual([expect.stringMatching(/^ORCAOPS_RUNTIME: .*tests only/)]);
    });

    it.each(['development', 'test'])('should allow ORCAOPS_RUNTIME=fake in %s', (environment) => {
      expect(problemsOf({ ORCAOPS_ENV: environment, ORCAOPS_RUNTIME: 'fake' })).toEqual([]);
    });

    it('should refuse a database URL with a default password', () => {
      const problems = problemsOf({
        ORCAOPS_ENV: 'production',
        DATABASE_URL: 'postgres://app:postgres@db:5432/orcaops',
      });
      expect(problems).toEqual([expect.stringMatching(/^DATABASE_URL: /)]);
    });

    it('should accept a safe production configuration', () => {
      expect(
        problemsOf({
          ORCAOPS_ENV: 'production',
          ORCAOPS_ADMIN_TOKEN: TOKEN_32,
          DATABASE_URL: 'postgres://app:S3cure@db/orcaops',
        }),
      ).toEqual([]);
    });
  });

  it('should report every problem together', () => {
    const problems = problemsOf({
      ORCAOPS_ENV: 'production',
      ORCAOPS_RUNTIME: 'fake',
      ORCAOPS_ADMIN_TOKEN: 'short',
      ORCAOPS_PORT: 'eighty',
      ORCAOPS_LOG_LEVEL: 'chatty',
      ORCAOPS_MAX_BODY_BYTES: '1',
    });
    const variables = problems.map((p) => p.split(':')[0]);
    expect(new Set(variables)).toEqual(
      new Set([
        'ORCAOPS_RUNTIME',
        'ORCAOPS_ADMIN_TOKEN',
        'ORCAOPS_PORT',
        'ORCAOPS_LOG_LEVEL',
        'ORCAOPS_MAX_BODY_BYTES',
      ]),
    );
    const message = (() => {
      try {
        validateEnv({ ORCAOPS_ADMIN_TOKEN: 'short', ORCAOPS_PORT: 'eighty' });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('ORCAOPS_ADMIN_TOKEN');
    expect(message).toContain('ORCAOPS_PORT');
  });

  it('should refuse an unknown environment name', () => {
    expect(problemsOf({ ORCAOPS_ENV: 'staging' })).toEqual([expect.stringMatching(/^ORCAOPS_ENV: /)]);
  });
});

describe('unknownOrcaopsVariables', () => {
  it('names ORCAOPS_* variables nothing reads, with the closest known one, and leaves known, client and test ones alone', () => {
    const env = {
      ORCAOPS_PORT: '1',
      ORCAOPS_URL: 'http://x',
      ORCAOPS_TOKEN: 't',
      ORCAOPS_TEST_PG_URL: 'postgres://x',
      ORCAOPS_MAX_CONCURENT_JOBS: '4',
      ORCAOPS_SOMETHING_ELSE: 'x',
      PATH: '/bin',
    };
    expect(unknownOrcaopsVariables(env)).toEqual([
      { name: 'ORCAOPS_MAX_CONCURENT_JOBS', suggestion: 'ORCAOPS_MAX_CONCURRENT_JOBS' },
      { name: 'ORCAOPS_SOMETHING_ELSE' },
    ]);
  });

  it('knows every variable the server validates', () => {
    expect(unknownOrcaopsVariables({ ORCAOPS_HOME: '/x', ORCAOPS_SECRETS_KEY: 'k', ORCAOPS_APT_MIRROR: 'http://m', ORCAOPS_EGRESS_IDLE_MS: '1' })).toEqual([]);
  });
});
