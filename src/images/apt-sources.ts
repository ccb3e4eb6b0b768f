import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One repository line of the host's apt configuration (one-line or deb822 form), flattened. */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  /** Where it was read from, for messages. */
  origin: string;
}

export interface AptSourceFile {
  path: string;
  text: string;
}

const MIRROR_SCHEMES = /^(https?|file):\/\//;

/** Parses deb822 `.sources` text: blank-line separated stanzas, `#` comments, continuation lines. */
export function parseDeb822Sources(text: string, origin: string): AptSource[] {
  return splitStanzas(text)
    .filter((fields) => (fields.get('enabled') ?? 'yes').toLowerCase() !== 'no')
    .filter((fields) => words(fields.get('types')).includes('deb'))
    .flatMap((fields) =>
      words(fields.get('uris')).map((uri) => ({
        uri,
        suites: words(fields.get('suites')),
        components: words(fields.get('components')),
        origin,
      })),
    );
}

function splitStanzas(text: string): Array<Map<string, string>> {
  const stanzas: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size > 0) stanzas.push(current);
      current = new Map();
      lastKey = undefined;
    } else if (line.startsWith('#')) {
      continue;
    } else if (/^\s/.test(line) && lastKey) {
      current.set(lastKey, `${current.get(lastKey) ?? ''} ${line.trim()}`);
    } else {
      const colon = line.indexOf(':');
      if (colon < 1) continue;
      lastKey = line.slice(0, colon).trim().toLowerCase();
      current.set(lastKey, line.slice(colon + 1).trim());
    }
  }
  if (current.size > 0) stanzas.push(current);
  return stanzas;
}

function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

/** Parses one-line `.list` text: `deb [options] uri suite component...` (deb-src and comments ignored). */
export function parseOneLineSources(text: string, origin: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw
      .replace(/#.*$/, '')
      .replace(/\[[^\]]*\]/, ' ')
      .trim();
    const [type, uri, suite, ...components] = line.split(/\s+/);
    if (type !== 'deb' || !uri || !suite) continue;
    sources.push({ uri, suites: [suite], components, origin });
  }
  return sources;
}

export function parseAptSourceFiles(files: AptSourceFile[]): AptSource[] {
  return files.flatMap((file) =>
    file.path.endsWith('.sources')
      ? parseDeb822Sources(file.text, file.path)
      : parseOneLineSources(file.text, file.path),
  );
}

/**
 * The first Debian repository that serves `suite` with the `main` component (the exact suite, so
 * `bookworm-security` and `bookworm-updates` never match). Returns the URI without a trailing slash.
 */
export function findDebianMirror(sources: AptSource[], suite: string): string | undefined {
  const match = sources.find(
    (s) => MIRROR_SCHEMES.test(s.uri) && s.suites.includes(suite) && s.components.includes('main'),
  );
  return match?.uri.replace(/\/+$/, '');
}

/** sources.list, then sources.list.d/*.list and *.sources in name order (apt's own order). */
export async function readHostAptSources(aptDir = '/etc/apt'): Promise<AptSourceFile[]> {
  const partsDir = join(aptDir, 'sources.list.d');
  const parts = await readdir(partsDir).catch(() => [] as string[]);
  const paths = [
    join(aptDir, 'sources.list'),
    ...parts
      .filter((name) => name.endsWith('.list') || name.endsWith('.sources'))
      .sort()
      .map((name) => join(partsDir, name)),
  ];
  const files = await Promise.all(
    paths.map(async (path) => ({ path, text: await readFile(path, 'utf8').catch(() => '') })),
  );
  return files.filter((file) => file.text !== '');
}

export class AptMirrorNotFoundError extends Error {
  constructor(suite: string, aptDir: string) {
    super(
      `No Debian "${suite}" repository with the "main" component in ${aptDir}/sources.list or ${aptDir}/sources.list.d/ ` +
        '(*.list or deb822 *.sources). Add one to the apt configuration, or set ORCAOPS_APT_MIRROR to a Debian mirror URL ' +
        '(for example http://<your-mirror>/debian).',
    );
    this.name = 'AptMirrorNotFoundError';
  }
}

/** The mirror debootstrap should use: the override when given, else the host's apt configuration. */
export async function resolveDebianMirror(
  suite: string,
  override?: string,
  aptDir = '/etc/apt',
): Promise<string> {
  if (override) return override.replace(/\/+$/, '');
  const mirror = findDebianMirror(parseAptSourceFiles(await readHostAptSources(aptDir)), suite);
  if (!mirror) throw new AptMirrorNotFoundError(suite, aptDir);
  return mirror;
}
