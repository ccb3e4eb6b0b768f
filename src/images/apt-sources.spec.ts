import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findDebianMirror,
  parseAptSourceFiles,
  parseDeb822Sources,
  parseOneLineSources,
  resolveDebianMirror,
} from 'src/images/apt-sources';

const DEB822 = `Types: deb
# http://snapshot.example.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.org/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.org/debian-security
Suites: bookworm-security
Components: main
`;

describe('parseDeb822Sources', () => {
  it('reads every stanza with its URIs, suites and components', () => {
    const sources = parseDeb822Sources(DEB822, 'debian.sources');
    expect(sources).toEqual([
      {
        uri: 'http://mirror.example.org/debian/',
        suites: ['bookworm', 'bookworm-updates'],
        components: ['main'],
        origin: 'debian.sources',
      },
      {
        uri: 'http://mirror.example.org/debian-security',
        suites: ['bookworm-security'],
        components: ['main'],
        origin: 'debian.sources',
      },
    ]);
  });

  it('skips disabled stanzas and deb-src only stanzas, and joins continuation lines', () => {
    const text = [
      'Types: deb',
      'URIs: http://a.example/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb-src',
      'URIs: http://b.example/debian',
      'Suites: bookworm',
      'Components: main',
      '',
      'types: deb deb-src',
      'uris: http://c.example/debian',
      '  http://d.example/debian',
      'suites: bookworm',
      'components: main contrib',
    ].join('\n');
    expect(parseDeb822Sources(text, 'x').map((s) => s.uri)).toEqual([
      'http://c.example/debian',
      'http://d.example/debian',
    ]);
  });
});

describe('parseOneLineSources', () => {
  it('reads deb lines with options and ignores deb-src and comments', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb-src http://src.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://a.example/debian bookworm main contrib # trailing',
      'deb https://packages.example/apt cloud-sdk-bookworm main',
    ].join('\n');
    expect(parseOneLineSources(text, 'sources.list')).toEqual([
      {
        uri: 'http://a.example/debian',
        suites: ['bookworm'],
        components: ['main', 'contrib'],
        origin: 'sources.list',
      },
      {
        uri: 'https://packages.example/apt',
        suites: ['cloud-sdk-bookworm'],
        components: ['main'],
        origin: 'sources.list',
      },
    ]);
  });
});

describe('findDebianMirror', () => {
  it('takes the first repository with the exact suite and main, without a trailing slash', () => {
    const sources = parseAptSourceFiles([
      {
        path: '/etc/apt/sources.list.d/nodesource.sources',
        text: 'Types: deb\nURIs: https://node.example/node_20.x\nSuites: nodistro\nComponents: main\n',
      },
      { path: '/etc/apt/sources.list.d/debian.sources', text: DEB822 },
    ]);
    expect(findDebianMirror(sources, 'bookworm')).toBe('http://mirror.example.org/debian');
  });

  it('never picks the security or updates suites, nor a repository without main', () => {
    const sources = parseOneLineSources(
      [
        'deb http://sec.example/debian-security bookworm-security main',
        'deb http://docker.example/linux/debian bookworm stable',
      ].join('\n'),
      'sources.list',
    );
    expect(findDebianMirror(sources, 'bookworm')).toBeUndefined();
  });

  it('ignores schemes debootstrap cannot fetch from', () => {
    expect(
      findDebianMirror(parseOneLineSources('deb cdrom:[Debian]/ bookworm main', 'l'), 'bookworm'),
    ).toBeUndefined();
  });
});

describe('resolveDebianMirror', () => {
  let aptDir: string;
  beforeEach(async () => {
    aptDir = await mkdtemp(join(tmpdir(), 'orcaops-apt-'));
    await mkdir(join(aptDir, 'sources.list.d'));
  });
  afterEach(() => rm(aptDir, { recursive: true, force: true }));

  it('prefers the override', async () => {
    await expect(resolveDebianMirror('bookworm', 'http://override.example/debian/', aptDir)).resolves.toBe(
      'http://override.example/debian',
    );
  });

  it('reads deb822 files and ignores files that are neither .list nor .sources', async () => {
    await writeFile(
      join(aptDir, 'sources.list.d', 'other.list.disabled'),
      'deb http://disabled.example/debian bookworm main\n',
    );
    await writeFile(join(aptDir, 'sources.list.d', 'debian.sources'), DEB822);
    await expect(resolveDebianMirror('bookworm', undefined, aptDir)).resolves.toBe(
      'http://mirror.example.org/debian',
    );
  });

  it('names what to configure when nothing matches', async () => {
    await expect(resolveDebianMirror('bookworm', undefined, aptDir)).rejects.toThrow(/ORCAOPS_APT_MIRROR/);
  });
});
