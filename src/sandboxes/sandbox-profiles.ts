import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { yamlDocumentProblem, yamlTextProblem } from 'src/common/input-limits';
import { convertLegacySandboxes, isLegacySandboxes } from 'src/sandboxes/legacy-sandboxes';
import { z } from 'zod';
import { CLEANUP_POLICIES, DEFAULT_TIMEOUT_SECONDS, ENV_KEY, IMAGE_REF, MAX_TIMEOUT_SECONDS, PULL_POLICIES, SECRET_NAME, SECRETS_MAP } from 'src/domain/container-spec';
import type { CleanupPolicy, PullPolicy } from 'src/domain/container-spec';
import type { SandboxResources } from 'src/sandboxes/sandbox-model';
import { DEFAULT_SANDBOX_RESOURCES } from 'src/sandboxes/sandbox-model';

/**
 * sandboxes.yml: the operator's catalogue of named sandbox profiles. Pure parsing and validation (no
 * Nest): a bad file must stop the server at boot with a message naming file, profile and field, not
 * fail later when a tenant picks the profile.
 */

export interface SandboxProfilePort {
  container: number;
  protocol: 'tcp' | 'udp';
}

export interface SandboxProfile {
  name: string;
  description: string | null;
  image: string;
  /** When sandboxes and runs of this profile pull its image (a request's pull_policy wins). */
  pull_policy: PullPolicy;
  /** argv for a one-shot run (a string is run with /bin/sh -c). Sandboxes keep their own keep-alive process. */
  command: string[] | null;
  resources: SandboxResources;
  timeout_seconds: number;
  env: Record<string, string>;
  /** Secrets by name (`{ENV_NAME: SECRET_NAME}`), resolved in the workspace that uses the profile. */
  secrets: Record<string, string>;
  /** Validated and stored; publishing ports is not enabled on this server, so using such a profile is refused. */
  ports: SandboxProfilePort[];
  cleanup_policy: CleanupPolicy;
  success_exit_codes: number[];
}

export class SandboxProfilesError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`Invalid sandbox profiles in ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SandboxProfilesError';
  }
}

const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const resources = z
  .object({
    cpu: z.number().min(0.1).max(4),
    memory_mb: z.number().int().min(16).max(8192),
    pids: z.number().int().min(16).max(512),
    disk_mb: z.number().int().min(1).max(1024),
  })
  .partial()
  .strict();

const profile = z
  .object({
    description: z.string().max(500).optional(),
    image: z.string().max(256).regex(IMAGE_REF, 'must be an image reference like name[:tag][@sha256:digest]'),
    pull_policy: z.enum(PULL_POLICIES).optional(),
    command: z.union([z.string().min(1).max(65_536), z.array(z.string().max(32_768)).min(1).max(256)]).optional(),
    resources: resources.optional(),
    timeout: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).optional(),
    env: z.record(z.string().regex(ENV_KEY, 'environment variable names are letters, digits and _'), z.string().max(32_768)).optional(),
    secrets: z
      .record(z.string().regex(ENV_KEY, 'environment variable names are letters, digits and _'), z.string().regex(SECRET_NAME, 'must be a secret name (upper case, digits and _)'))
      .refine((m) => Object.keys(m).length <= SECRETS_MAP.maxKeys, `at most ${SECRETS_MAP.maxKeys} secrets`)
      .optional(),
    ports: z
      .array(z.object({ container: z.number().int().min(1).max(65_535), protocol: z.enum(['tcp', 'udp']).default('tcp') }).strict())
      .max(16)
      .optional(),
    cleanup_policy: z.enum(CLEANUP_POLICIES).optional(),
    success_exit_codes: z.array(z.number().int().min(0).max(255)).min(1).max(32).optional(),
  })
  .strict();

// `environments:` templates are parsed by src/environments (environment-definition.ts), with line numbers.
const catalogue = z.object({ version: z.literal(1).optional(), profiles: z.record(z.unknown()), environments: z.unknown().optional() }).strict();

function where(file: string, name: string | undefined, path: ReadonlyArray<string | number>): string {
  const field = path.length ? `field "${path.join('.')}"` : 'the entry itself';
  return name ? `${file}: profile "${name}": ${field}` : `${file}: ${field}`;
}

function toProfile(name: string, p: z.infer<typeof profile>): SandboxProfile {
  const command = p.command === undefined ? null : typeof p.command === 'string' ? ['/bin/sh', '-c', p.command] : p.command;
  return {
    name,
    description: p.description ?? null,
    image: p.image,
    pull_policy: p.pull_policy ?? 'if_not_present',
    command,
    resources: { ...DEFAULT_SANDBOX_RESOURCES, ...p.resources },
    timeout_seconds: p.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    env: p.env ?? {},
    secrets: p.secrets ?? {},
    ports: (p.ports ?? []).map((port) => ({ container: port.container, protocol: port.protocol })),
    cleanup_policy: p.cleanup_policy ?? 'remove_on_completion',
    success_exit_codes: p.success_exit_codes ?? [0],
  };
}

/** Receives a deprecation warning (the predecessor's `sandboxes:` format, converted on load). */
export type ProfilesWarning = (message: string) => void;

/**
 * The catalogue as a plain object: today's format as is; the predecessor's `sandboxes:` list converted
 * (with a deprecation warning naming the migrate command), or refused naming what cannot be converted.
 */
function catalogueObject(raw: unknown, file: string, text: string, warn: ProfilesWarning | undefined): unknown {
  if (!isLegacySandboxes(raw)) return raw ?? { profiles: {} };
  const converted = convertLegacySandboxes(raw, file, text);
  if (converted.problems.length) throw new SandboxProfilesError(file, converted.problems);
  warn?.(
    `${file} uses the deprecated sandboxes: format; it was converted on load ` +
      `(${Object.keys(converted.catalogue.profiles).length} profiles). Rewrite it with: orcaops profiles migrate ${file} --write` +
      converted.notes.map((note) => `\n  - ${note}`).join(''),
  );
  return converted.catalogue;
}

/** Parses the catalogue text; throws SandboxProfilesError listing every problem. */
export function parseSandboxProfiles(text: string, file: string, warn?: ProfilesWarning): SandboxProfile[] {
  const tooDeep = yamlTextProblem(text);
  if (tooDeep) throw new SandboxProfilesError(file, [`${file}: ${tooDeep}`]);
  const doc = parseDocument(text);
  if (doc.errors.length) throw new SandboxProfilesError(file, doc.errors.map((e) => `${file}: YAML syntax: ${e.message}`));
  const tooLarge = yamlDocumentProblem(doc);
  if (tooLarge) throw new SandboxProfilesError(file, [`${file}: ${tooLarge}`]);
  const top = catalogue.safeParse(catalogueObject(doc.toJS(), file, text, warn));
  if (!top.success) throw new SandboxProfilesError(file, top.error.issues.map((i) => `${where(file, undefined, i.path)}: ${i.message}`));
  const problems: string[] = [];
  const profiles: SandboxProfile[] = [];
  for (const [name, raw] of Object.entries(top.data.profiles)) {
    if (!PROFILE_NAME.test(name)) {
      problems.push(`${file}: profile "${name}": the name must be lower-case letters, digits, - and _ (max 63)`);
      continue;
    }
    const parsed = profile.safeParse(raw);
    if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${where(file, name, i.path)}: ${i.message}`));
    else profiles.push(toProfile(name, parsed.data));
  }
  if (problems.length) throw new SandboxProfilesError(file, problems);
  return profiles.sort((a, b) => a.name.localeCompare(b.name));
}

/** Reads the catalogue file; a missing optional file is an empty catalogue. */
export function loadSandboxProfiles(path: string, required: boolean, warn?: ProfilesWarning): SandboxProfile[] {
  if (!existsSync(path)) {
    if (required) throw new SandboxProfilesError(path, [`${path}: file not found (ORCAOPS_SANDBOX_PROFILES)`]);
    return [];
  }
  return parseSandboxProfiles(readFileSync(path, 'utf8'), path, warn);
}

/** The loaded catalogue (built once at boot by SandboxesModule; a bad file fails the boot). */
export class SandboxProfileCatalog {
  private readonly byName: Map<string, SandboxProfile>;

  constructor(readonly profiles: SandboxProfile[]) {
    this.byName = new Map(profiles.map((p) => [p.name, p]));
  }

  get(name: string): SandboxProfile | undefined {
    return this.byName.get(name);
  }
}
