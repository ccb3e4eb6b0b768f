import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountPointsUnder, withScratchDir } from 'src/images/scratch-dir';

const MOUNTS = [
  'overlay / overlay rw 0 0',
  'proc /tmp/orcaops-python-x/rootfs/proc proc rw 0 0',
  'sysfs /tmp/orcaops-python-x/rootfs/sys sysfs rw 0 0',
  'tmpfs /tmp/orcaops-python-x/rootfs/dev/shm tmpfs rw 0 0',
  'tmpfs /tmp/orcaops-python-xy tmpfs rw 0 0',
  'tmpfs /tmp/with\\040space tmpfs rw 0 0',
].join('\n');

describe('mountPointsUnder', () => {
  it('lists mounts below the directory, deepest first, not siblings sharing a prefix', () => {
    expect(mountPointsUnder(MOUNTS, '/tmp/orcaops-python-x/')).toEqual([
      '/tmp/orcaops-python-x/rootfs/dev/shm',
      '/tmp/orcaops-python-x/rootfs/proc',
      '/tmp/orcaops-python-x/rootfs/sys',
    ]);
  });

  it('decodes escaped characters', () => {
    expect(mountPointsUnder(MOUNTS, '/tmp/with space')).toEqual(['/tmp/with space']);
  });
});

describe('withScratchDir', () => {
  it('removes the directory after success and after failure', async () => {
    let seen = '';
    await withScratchDir('spec', async (dir) => {
      seen = dir;
      await writeFile(join(dir, 'file'), 'x');
    });
    expect(existsSync(seen)).toBe(false);
    await expect(
      withScratchDir('spec', (dir) => {
        seen = dir;
        return Promise.reject(new Error('boom'));
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(seen)).toBe(false);
  });
});
