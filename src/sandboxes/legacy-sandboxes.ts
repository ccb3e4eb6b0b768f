/**
 * The predecessor's sandboxes.yml: a top-level `sandboxes:` list of {name, image, command, timeout,
 * cleanup_policy, ports, volumes, environment, success_exit_codes}. It is converted into today's
 * `profiles:` map (loaded with a deprecation warning, or rewritten by `orcaops profiles migrate FILE`).
 * Pure: no Nest, no I/O. Everything that has no safe equivalent is refused by name, never dropped:
 * `volumes` (host bind mounts) above all.
 */
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import type { Document } from 'yaml';

/** The predecessor's default run time for a sandbox entry (seconds); today's default is longer. */
const LEGACY_TIMEOUT_SECONDS = 60;
const LEGACY_KEYS = new Set([
  'name',
  'image',
  'command',
  'timeout',
  'cleanup_policy',
  'ports',
  'environment',
  'success_exit_codes',
  'volumes',
  'description',
]);

export interface LegacyConversion {
  /** The equivalent catalogue (`version: 1`, `profiles:`), still to be validated as any catalogue is. */
  catalogue: { version: 1; profiles: Record<string, Record<string, unknown>> };
  /** What changed on the way (each names the entry and key). */
  notes: string[];
  /** What cannot be converted (each names the entry, key and line); non-empty means no catalogue. */
  problems: string[];
}

/** True when the parsed top level is the predecessor's format (a `sandboxes:` key and no `profiles:`). */
export function isLegacySandboxes(top: unknown): top is { sandboxes: unknown } {
  return typeof top === 'object' && top !== null && 'sandboxes' in top && !('profiles' in top);
}

function lineOf(doc: Document, path: Array<string | number>, text: string): string {
  const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
  const offset = node?.range?.[0];
  if (offset === undefined) return '';
  return ` (line ${text.slice(0, offset).split('\n').length})`;
}

function convertPorts(
  value: unknown,
  where: string,
  problems: string[],
): Array<{ container: number; protocol: string }> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}: "ports" must be a map like {"8081/tcp": 8081}`);
    return undefined;
  }
  const ports: Array<{ container: number; protocol: string }> = [];
  for (const key of Object.keys(value)) {
    const match = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(key);
    if (!match) problems.push(`${where}: "ports" key "${key}" must be PORT or PORT/tcp|udp`);
    else ports.push({ container: Number(match[1]), protocol: match[2] ?? 'tcp' });
  }
  return ports;
}

function convertEnvironment(
  value: unknown,
  where: string,
  problems: string[],
): Record<string, string> | undefined {
  if (!Array.isArray(value)) {
    problems.push(`${where}: "environment" must be a list of KEY=VALUE strings`);
    return undefined;
  }
  const env: Record<string, string> = {};
  for (const item of value) {
    const at = typeof item === 'string' ? item.indexOf('=') : -1;
    if (typeof item !== 'string' || at <= 0)
      problems.push(`${where}: "environment" entry ${JSON.stringify(item)} must be KEY=VALUE`);
    else env[item.slice(0, at)] = item.slice(at + 1);
  }
  return env;
}

/** Converts the parsed predecessor file; `text` gives problems their line numbers. */
export function convertLegacySandboxes(
  top: { sandboxes: unknown },
  file: string,
  text: string,
): LegacyConversion {
  const doc = parseDocument(text);
  const notes: string[] = [];
  const problems: string[] = [];
  const profiles: Record<string, Record<string, unknown>> = {};
  const extraTop = Object.keys(top).filter((key) => key !== 'sandboxes' && key !== 'version');
  for (const key of extraTop)
    problems.push(
      `${file}: top-level key "${key}"${lineOf(doc, [key], text)} is not part of the sandboxes: format`,
    );
  if (!Array.isArray(top.sandboxes)) {
    problems.push(
      `${file}: "sandboxes"${lineOf(doc, ['sandboxes'], text)} must be a list of sandbox entries`,
    );
    return { catalogue: { version: 1, profiles }, notes, problems };
  }
  top.sandboxes.forEach((raw, index) => {
    const at = (key?: string): string =>
      `${file}: sandboxes[${index}]${key ? ` "${key}"` : ''}${lineOf(doc, key ? ['sandboxes', index, key] : ['sandboxes', index], text)}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${at()}: each entry must be a map with name and image`);
      return;
    }
    const entry = raw as Record<string, unknown>;
    const name = typeof entry.name === 'string' ? entry.name : undefined;
    if (!name) {
      problems.push(`${at('name')}: every entry needs a name (it becomes the profile name)`);
      return;
    }
    if (profiles[name]) {
      problems.push(`${at('name')}: "${name}" is used twice (the old loader let the last one win; keep one)`);
      return;
    }
    const profile: Record<string, unknown> = {};
    for (const key of Object.keys(entry)) {
      if (!LEGACY_KEYS.has(key)) problems.push(`${at(key)}: unknown key "${key}" in a sandboxes: entry`);
    }
    if (entry.volumes !== undefined) {
      problems.push(
        `${at('volumes')}: host bind mounts are not supported (sandboxes never see the host's files); remove "volumes" and copy files in with the files API`,
      );
    }
    if (entry.description !== undefined) profile.description = entry.description;
    profile.image = entry.image;
    if (entry.command !== undefined) profile.command = entry.command;
    if (entry.timeout === undefined)
      notes.push(
        `sandboxes[${index}] "${name}": timeout ${LEGACY_TIMEOUT_SECONDS} s written out (the old default)`,
      );
    profile.timeout = entry.timeout ?? LEGACY_TIMEOUT_SECONDS;
    if (entry.cleanup_policy !== undefined) profile.cleanup_policy = entry.cleanup_policy;
    if (entry.success_exit_codes !== undefined) profile.success_exit_codes = entry.success_exit_codes;
    if (entry.environment !== undefined) {
      const env = convertEnvironment(entry.environment, at('environment'), problems);
      if (env) profile.env = env;
    }
    if (entry.ports !== undefined) {
      const ports = convertPorts(entry.ports, at('ports'), problems);
      if (ports) {
        profile.ports = ports;
        notes.push(
          `sandboxes[${index}] "${name}": host port numbers dropped from "ports" (nothing is published on the host; a profile with ports is refused when used)`,
        );
      }
    }
    profiles[name] = profile;
  });
  return { catalogue: { version: 1, profiles }, notes, problems };
}

/** The converted catalogue as a sandboxes.yml text (what `orcaops profiles migrate` prints). */
export function legacyCatalogueYaml(conversion: LegacyConversion, file: string): string {
  const header = `# Converted from the sandboxes: format of ${file} by orcaops profiles migrate.\n`;
  return header + stringify(conversion.catalogue, { lineWidth: 0 });
}

/** Whether the text parses to the predecessor's format (for the CLI's "nothing to migrate"). */
export function textIsLegacy(text: string): boolean {
  const doc = parseDocument(text);
  return !doc.errors.length && isMap(doc.contents) && isSeq(doc.get('sandboxes')) && !doc.has('profiles');
}
