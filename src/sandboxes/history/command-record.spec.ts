import { SecretMasker } from 'src/common/masking/secret-masker';
import { argvText, commandOutcome, SANDBOX_HISTORY_LIMITS, secretLookingValues, storedCommand } from 'src/sandboxes/history/command-record';

describe('command history records', () => {
  it('should cut the text only after masking it whole', () => {
    const masker = new SecretMasker(['hunter2-secret']);
    expect(storedCommand(masker.maskText('curl -H "x: hunter2-secret" && echo aHVudGVyMi1zZWNyZXQ='))).toEqual({ command: 'curl -H "x: ***" && echo ***', truncated: false });
    const long = `${'a'.repeat(SANDBOX_HISTORY_LIMITS.commandMaxChars - 2)}hunter2-secret`;
    const stored = storedCommand(masker.maskText(long));
    expect(stored.command).not.toContain('hunter');
    expect(stored.command).toHaveLength(SANDBOX_HISTORY_LIMITS.commandMaxChars);
    expect(stored.truncated).toBe(true);
  });

  it('should not cut inside a surrogate pair', () => {
    const text = `${'a'.repeat(SANDBOX_HISTORY_LIMITS.commandMaxChars - 1)}😀😀`;
    const { command } = storedCommand(text);
    expect(command).toBe('a'.repeat(SANDBOX_HISTORY_LIMITS.commandMaxChars - 1));
  });

  it('should treat values of secret-looking env names as secrets', () => {
    expect(secretLookingValues({ API_TOKEN: 'tok-123456', HOME: '/home', db_password: 'pw-abcdef', MY_API_KEY: 'k-1' })).toEqual(['tok-123456', 'pw-abcdef', 'k-1']);
  });

  it('should quote argv words only where the shell would need it', () => {
    expect(argvText(['echo', 'a b', "it's", '$HOME', '--flag=x', ''])).toBe(`echo 'a b' 'it'\\''s' '$HOME' --flag=x ''`);
  });

  it('should name the way a command ended', () => {
    expect(commandOutcome({ exitCode: 0 })).toEqual({ status: 'succeeded', reason: null });
    expect(commandOutcome({ exitCode: 3 })).toEqual({ status: 'failed', reason: null });
    expect(commandOutcome({ exitCode: 137, timedOut: true })).toEqual({ status: 'timed_out', reason: 'timeout' });
    expect(commandOutcome({ exitCode: 130, interrupted: true })).toEqual({ status: 'failed', reason: 'interrupted' });
    expect(commandOutcome({ exitCode: null, shellExited: true })).toEqual({ status: 'failed', reason: 'shell_exited' });
    expect(commandOutcome({ exitCode: null, cancelled: true })).toEqual({ status: 'failed', reason: 'cancelled' });
    expect(commandOutcome({ exitCode: null, engineError: true })).toEqual({ status: 'error', reason: 'engine_error' });
  });
});
