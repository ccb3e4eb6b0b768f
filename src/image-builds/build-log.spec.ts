import { SecretMasker } from 'src/common/masking/secret-masker';
import { BuildLog } from 'src/image-builds/build-log';

describe('BuildLog', () => {
  it('masks a value split across chunks and wakes followers', async () => {
    const log = new BuildLog(new SecretMasker(['hunter2-secret']), 1024);
    const woken = log.changed();
    log.append('token=hunter2-');
    await woken;
    log.append('secret done\n');
    log.finish();
    expect(log.text).toBe('token=*** done\n');
    expect(log.text).not.toContain('hunter2');
  });

  it('keeps the head up to the cap and says it was truncated', () => {
    const log = new BuildLog(SecretMasker.none, 10);
    log.append('0123456789abcdef');
    log.append('more');
    log.finish();
    expect(log.truncated).toBe(true);
    expect(log.text).toBe('0123456789\n[orcaops] build output truncated at 10 bytes\n');
  });
});
