/** Reading steps, the job container and services (design §2.3, §2.4, §2.6). */
import type { Node } from 'yaml';
import type { ExpressionSite } from 'src/workflows/engine/expression-sites';
import { CONTEXTS } from 'src/workflows/engine/expression-sites';
import type {
  BuiltinStepKind,
  ContainerSpec,
  HealthcheckSpec,
  ServiceSpec,
  StepAction,
  StepSpec,
} from 'src/workflows/engine/model';
import type { OptionsTarget } from 'src/services-runtime/container-options';
import { parsePortSpec, parseRunOptions, parseVolumeSpec } from 'src/services-runtime/container-options';
import type { MapEntry, YamlReader } from 'src/workflows/engine/yaml-reader';
import { parseDuration } from 'src/workflows/engine/yaml-reader';

export interface JobReadContext {
  reader: YamlReader;
  sites: ExpressionSite[];
  jobId: string;
  skipUnsupported: boolean;
}

const STEP_KEYS = new Set([
  'id',
  'name',
  'if',
  'run',
  'shell',
  'working-directory',
  'env',
  'continue-on-error',
  'timeout-minutes',
  'uses',
  'with',
]);
const BACKGROUND_STEP_KEYS = new Set(['background', 'wait', 'wait-all', 'cancel']);
const BUILTIN_ACTIONS: Record<string, BuiltinStepKind> = {
  'actions/checkout': 'checkout',
  'actions/upload-artifact': 'upload-artifact',
  'actions/download-artifact': 'download-artifact',
  'actions/cache': 'cache',
};
// cmd and powershell only exist on Windows runners, whose jobs are skipped; accepted so such files load.
const KNOWN_SHELLS = new Set(['bash', 'sh', 'python', 'pwsh', 'cmd', 'powershell']);
export const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Adds a site when the value holds `${{ }}` (templates) or always (conditions). */
export function addSite(ctx: JobReadContext, site: Omit<ExpressionSite, 'jobId'>): void {
  if (site.kind === 'template' && !site.text.includes('${{')) return;
  ctx.sites.push({ ...site, jobId: ctx.jobId });
}

/** A template site per value of a map (env, with, outputs). */
export function addMapSites(
  ctx: JobReadContext,
  values: Record<string, string>,
  path: string,
  contexts: ExpressionSite['contexts'],
): void {
  for (const [key, text] of Object.entries(values))
    addSite(ctx, { path: `${path}.${key}`, text, kind: 'template', contexts });
}

export function readSteps(ctx: JobReadContext, node: Node | null, path: string): StepSpec[] {
  const items = ctx.reader.seq(node, path) ?? [];
  if (items.length === 0)
    ctx.reader.error('no-steps', `Job '${ctx.jobId}' must have at least one step`, path, node);
  const steps = items.map((item, index) => readStep(ctx, item, `${path}[${index}]`, index));
  assignStepIds(
    ctx,
    steps.filter((s): s is StepSpec => s !== undefined),
    path,
  );
  return steps.filter((s): s is StepSpec => s !== undefined);
}

function readStep(ctx: JobReadContext, node: Node | null, path: string, index: number): StepSpec | undefined {
  const { reader } = ctx;
  const entries = reader.map(node, path);
  if (!entries) return undefined;
  const field = (key: string): MapEntry | undefined => entries.find((e) => e.key === key);
  for (const entry of entries) {
    if (BACKGROUND_STEP_KEYS.has(entry.key)) {
      reader.error(
        'unsupported',
        `Step key '${entry.key}' (background steps) is not supported`,
        entry.path,
        entry.keyNode,
      );
    }
  }
  reader.checkKeys(
    entries.filter((e) => !BACKGROUND_STEP_KEYS.has(e.key)),
    STEP_KEYS,
    'a step',
  );
  const action = readStepAction(ctx, field('run'), field('uses'), field('with'), path, node);
  const step: StepSpec = {
    index,
    id: '',
    generatedId: true,
    action: action ?? { kind: 'run', script: '' },
    env: reader.stringMap(field('env')?.value ?? null, `${path}.env`),
    continueOnError: false,
    loc: reader.loc(node),
  };
  readStepScalars(ctx, step, field, path);
  addMapSites(ctx, step.env, `${path}.env`, CONTEXTS.step);
  return step;
}

function readStepScalars(
  ctx: JobReadContext,
  step: StepSpec,
  field: (key: string) => MapEntry | undefined,
  path: string,
): void {
  const { reader } = ctx;
  const id = field('id');
  if (id) {
    step.id = reader.string(id.value, id.path) ?? '';
    step.generatedId = false;
  }
  const name = field('name');
  if (name) step.name = reader.string(name.value, name.path, true);
  const condition = field('if');
  if (condition) step.if = readCondition(ctx, condition);
  const shell = field('shell');
  if (shell) step.shell = readShell(reader, shell);
  const workingDirectory = field('working-directory');
  if (workingDirectory) step.workingDirectory = reader.string(workingDirectory.value, workingDirectory.path);
  const continueOnError = field('continue-on-error');
  if (continueOnError)
    step.continueOnError = reader.templatedBoolean(continueOnError.value, continueOnError.path) ?? false;
  const timeout = field('timeout-minutes');
  if (timeout) step.timeoutMinutes = reader.templatedNumber(timeout.value, timeout.path);
  for (const [key, text] of [
    ['name', step.name],
    ['working-directory', step.workingDirectory],
  ] as const) {
    if (text) addSite(ctx, { path: `${path}.${key}`, text, kind: 'template', contexts: CONTEXTS.step });
  }
  for (const [key, value] of [
    ['continue-on-error', step.continueOnError],
    ['timeout-minutes', step.timeoutMinutes],
  ] as const) {
    if (typeof value === 'string')
      addSite(ctx, { path: `${path}.${key}`, text: value, kind: 'template', contexts: CONTEXTS.step });
  }
}

/** Reads an `if:` (bare, wrapped, or a YAML boolean) and registers it for validation. */
export function readCondition(
  ctx: JobReadContext,
  entry: MapEntry,
  contexts = CONTEXTS.stepIf,
): string | undefined {
  const value = ctx.reader.scalarValue(entry.value);
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  const text = ctx.reader.string(entry.value, entry.path);
  if (text !== undefined) addSite(ctx, { path: entry.path, text, kind: 'condition', contexts });
  return text;
}

function readShell(reader: YamlReader, entry: MapEntry): string | undefined {
  const shell = reader.string(entry.value, entry.path);
  if (shell === undefined || KNOWN_SHELLS.has(shell) || shell.includes('${{')) return shell;
  if (!shell.includes('{0}')) {
    reader.error(
      'bad-shell',
      `Invalid shell option. Shell must be a valid built-in (bash, sh, python, pwsh) or a format string containing '{0}'`,
      entry.path,
      entry.value,
    );
  }
  return shell;
}

function readStepAction(
  ctx: JobReadContext,
  run: MapEntry | undefined,
  uses: MapEntry | undefined,
  withEntry: MapEntry | undefined,
  path: string,
  node: Node | null,
): StepAction | undefined {
  const { reader } = ctx;
  if (run && uses) {
    reader.error('bad-step', "A step cannot have both 'run' and 'uses'", path, node);
    return undefined;
  }
  if (run) {
    if (withEntry)
      reader.error('unknown-key', "'with' is only allowed with 'uses'", withEntry.path, withEntry.keyNode);
    const script = reader.string(run.value, run.path, true);
    if (script !== undefined)
      addSite(ctx, { path: run.path, text: script, kind: 'template', contexts: CONTEXTS.step });
    return script === undefined ? undefined : { kind: 'run', script };
  }
  if (uses) return readUses(ctx, uses, withEntry);
  reader.error('bad-step', "A step must have either 'run' or 'uses'", path, node);
  return undefined;
}

function readUses(
  ctx: JobReadContext,
  uses: MapEntry,
  withEntry: MapEntry | undefined,
): StepAction | undefined {
  const { reader } = ctx;
  const target = reader.string(uses.value, uses.path);
  if (target === undefined) return undefined;
  const withValues = reader.stringMap(withEntry?.value ?? null, withEntry?.path ?? `${uses.path}.with`);
  if (withEntry) addMapSites(ctx, withValues, withEntry.path, CONTEXTS.step);
  const kind = BUILTIN_ACTIONS[target.split('@')[0]?.toLowerCase() ?? ''];
  if (kind) return { kind, uses: target, with: withValues };
  const message = `Step uses '${target}', which OrcaOps cannot run (only run steps and the checkout/artifact/cache shims are supported)`;
  if (ctx.skipUnsupported) {
    reader.warn('unsupported-step', `${message}; the step will be skipped`, uses.path, uses.value);
    return { kind: 'unsupported', uses: target, with: withValues };
  }
  reader.error('unsupported-step', message, uses.path, uses.value);
  return undefined;
}

/** Generates GitHub-style ids for steps without one and checks user ids (format, reserved, unique). */
function assignStepIds(ctx: JobReadContext, steps: StepSpec[], path: string): void {
  const used = new Set<string>();
  for (const step of steps) {
    if (step.generatedId) continue;
    const stepPath = `${path}[${step.index}].id`;
    if (!checkIdentifier(ctx.reader, step.id, stepPath)) continue;
    if (used.has(step.id)) {
      ctx.reader.reportAt(
        'error',
        'duplicate-id',
        `The identifier '${step.id}' may not be used more than once within the same scope.`,
        stepPath,
      );
    }
    used.add(step.id);
  }
  for (const step of steps) {
    if (!step.generatedId) continue;
    const base =
      step.action.kind === 'run'
        ? '__run'
        : `__${step.action.uses.split('@')[0]?.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    step.id = id;
    used.add(id);
  }
}

/** Checks a job or step id; reports with the official parser's wording. */
export function checkIdentifier(reader: YamlReader, id: string, path: string): boolean {
  if (id.startsWith('__')) {
    reader.reportAt(
      'error',
      'bad-id',
      `The identifier '${id}' is invalid. IDs starting with '__' are reserved.`,
      path,
    );
    return false;
  }
  if (!ID_PATTERN.test(id) || id.length >= 100) {
    reader.reportAt(
      'error',
      'bad-id',
      `The identifier '${id}' is invalid. IDs may only contain alphanumeric characters, '_', and '-'. IDs must start with a letter or '_' and must be less than 100 characters.`,
      path,
    );
    return false;
  }
  return true;
}

// ─── Container and services ─────────────────────────────────────────────────────────────────────────

const CONTAINER_KEYS = new Set(['image', 'env', 'ports', 'volumes', 'options', 'credentials']);
const SERVICE_KEYS = new Set([
  ...CONTAINER_KEYS,
  'healthcheck',
  'health_check',
  'command',
  'entrypoint',
  'readiness-timeout',
]);

export function readContainer(
  ctx: JobReadContext,
  node: Node | null,
  path: string,
): ContainerSpec | undefined {
  const { reader } = ctx;
  if (!reader.isMap(node)) {
    const image = reader.string(node, path);
    if (image !== undefined)
      addSite(ctx, { path, text: image, kind: 'template', contexts: CONTEXTS.jobMeta });
    return image === undefined
      ? undefined
      : { image, env: {}, ports: [], volumes: [], loc: reader.loc(node) };
  }
  const entries = reader.map(node, path) ?? [];
  reader.checkKeys(entries, CONTAINER_KEYS, `container`);
  const spec = readContainerFields(ctx, entries, path, node, 'container');
  if (!entries.some((e) => e.key === 'image'))
    reader.error('bad-container', `'${path}.image' is required`, path, node);
  return spec;
}

function readContainerFields(
  ctx: JobReadContext,
  entries: MapEntry[],
  path: string,
  node: Node | null,
  target: OptionsTarget,
): ContainerSpec {
  const { reader } = ctx;
  const field = (key: string): MapEntry | undefined => entries.find((e) => e.key === key);
  const image = field('image');
  const options = field('options');
  const spec: ContainerSpec = {
    image: image ? (reader.string(image.value, image.path) ?? '') : '',
    env: reader.stringMap(field('env')?.value ?? null, `${path}.env`),
    ports: field('ports') ? (reader.stringList(field('ports')?.value ?? null, `${path}.ports`) ?? []) : [],
    volumes: field('volumes')
      ? (reader.stringList(field('volumes')?.value ?? null, `${path}.volumes`) ?? [])
      : [],
    loc: reader.loc(node),
  };
  if (options && !reader.isNull(options.value)) spec.options = reader.string(options.value, options.path);
  if (options && spec.options !== undefined) checkLiteralOptions(reader, spec.options, target, options);
  checkLiteralEntries(reader, field('ports'), parsePortSpec);
  checkLiteralEntries(reader, field('volumes'), (text) => parseVolumeSpec(text, target));
  const credentials = field('credentials');
  if (credentials && !reader.isNull(credentials.value)) {
    const fields = reader.map(credentials.value, credentials.path) ?? [];
    reader.checkKeys(fields, new Set(['username', 'password']), 'credentials');
    spec.hasCredentials = true;
  }
  for (const [key, text] of [
    ['image', spec.image],
    ['options', spec.options ?? ''],
  ] as const) {
    addSite(ctx, { path: `${path}.${key}`, text, kind: 'template', contexts: CONTEXTS.jobMeta });
  }
  addMapSites(ctx, spec.env, `${path}.env`, CONTEXTS.jobMeta);
  return spec;
}

/** Options written literally are checked at load time, each problem at the options' position. */
function checkLiteralOptions(reader: YamlReader, text: string, target: OptionsTarget, entry: MapEntry): void {
  if (text.includes('${{')) return;
  const { options, errors } = parseRunOptions(text, target);
  for (const message of errors) reader.error('bad-options', message, entry.path, entry.value);
  if (target === 'container' && options.user !== undefined && /^(0|root)(:|$)/.test(options.user)) {
    reader.warn(
      'container-user',
      `Option '--user ${options.user}' is not applied: the job container never runs as root (steps run as uid 65534); docs/security.md`,
      entry.path,
      entry.value,
    );
  }
}

/** `ports:` / `volumes:` items without expressions, each checked where it is written. */
function checkLiteralEntries(
  reader: YamlReader,
  entry: MapEntry | undefined,
  parse: (text: string) => object,
): void {
  if (!entry || !reader.isSeq(entry.value)) return;
  (reader.seq(entry.value, entry.path) ?? []).forEach((item, i) => {
    const value = reader.scalarValue(item);
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const text = String(value);
    if (text.includes('${{')) return;
    const parsed = parse(text);
    if ('error' in parsed) reader.error('bad-service', String(parsed.error), `${entry.path}[${i}]`, item);
  });
}

export function readServices(ctx: JobReadContext, node: Node | null, path: string): ServiceSpec[] {
  const { reader } = ctx;
  if (reader.isNull(node)) return [];
  if (reader.isSeq(node)) return readServiceList(ctx, node, path);
  return (reader.map(node, path) ?? [])
    .map((entry) => readService(ctx, entry.key, entry.value, entry.path))
    .filter((s): s is ServiceSpec => !!s);
}

/** Seed shorthand: `["postgres:15", "redis:7"]` or single-key maps. */
function readServiceList(ctx: JobReadContext, node: Node | null, path: string): ServiceSpec[] {
  const { reader } = ctx;
  reader.warn(
    'deprecated',
    "A list of services is the predecessor's shorthand; use a mapping of service id → image",
    path,
    node,
  );
  const services: ServiceSpec[] = [];
  (reader.seq(node, path) ?? []).forEach((item, i) => {
    const itemPath = `${path}[${i}]`;
    if (reader.isMap(item)) {
      for (const entry of reader.map(item, itemPath) ?? [])
        services.push(...optional(readService(ctx, entry.key, entry.value, entry.path)));
      return;
    }
    const image = reader.string(item, itemPath);
    if (image !== undefined)
      services.push(...optional(readService(ctx, serviceIdFromImage(image), item, itemPath)));
  });
  return services;
}

function optional<T>(value: T | undefined): T[] {
  return value === undefined ? [] : [value];
}

/** `ghcr.io/x/postgres:15` → `postgres` (last path segment before the tag). */
export function serviceIdFromImage(image: string): string {
  const last = image.split('/').pop() ?? image;
  return last.split('@')[0]?.split(':')[0] ?? last;
}

function readService(
  ctx: JobReadContext,
  id: string,
  node: Node | null,
  path: string,
): ServiceSpec | undefined {
  const { reader } = ctx;
  checkIdentifier(reader, id, path);
  if (!reader.isMap(node)) {
    const image = reader.string(node, path);
    if (image !== undefined)
      addSite(ctx, { path, text: image, kind: 'template', contexts: CONTEXTS.jobMeta });
    return image === undefined
      ? undefined
      : { id, image, env: {}, ports: [], volumes: [], loc: reader.loc(node) };
  }
  const entries = reader.map(node, path) ?? [];
  reader.checkKeys(entries, SERVICE_KEYS, `service '${id}'`);
  const base = readContainerFields(ctx, entries, path, node, 'service');
  const service: ServiceSpec = {
    id,
    image: base.image,
    env: base.env,
    ports: base.ports,
    volumes: base.volumes,
    loc: base.loc,
  };
  if (base.options !== undefined) service.options = base.options;
  if (base.hasCredentials) service.hasCredentials = true;
  if (!entries.some((e) => e.key === 'image'))
    reader.error('bad-service', `Service '${id}' needs an 'image'`, path, node);
  readServiceExtras(ctx, service, entries);
  return service;
}

function readServiceExtras(ctx: JobReadContext, service: ServiceSpec, entries: MapEntry[]): void {
  const { reader } = ctx;
  for (const entry of entries) {
    if (entry.key === 'command' || entry.key === 'entrypoint') {
      const value = reader.isSeq(entry.value)
        ? reader.stringList(entry.value, entry.path)
        : reader.string(entry.value, entry.path);
      if (value !== undefined) service[entry.key] = value;
    } else if (entry.key === 'readiness-timeout') {
      const ms = parseDuration(reader.scalarValue(entry.value));
      if (ms === undefined)
        reader.error('bad-type', `'${entry.path}' must be a duration such as 5m`, entry.path, entry.value);
      else service.readinessTimeoutMs = ms;
    } else if (entry.key === 'healthcheck' || entry.key === 'health_check') {
      if (entry.key === 'health_check')
        reader.warn(
          'deprecated',
          "'health_check' is deprecated; use 'healthcheck'",
          entry.path,
          entry.keyNode,
        );
      const healthcheck = readHealthcheck(reader, entry);
      if (healthcheck) service.healthcheck = healthcheck;
    }
  }
  if (service.healthcheck && service.healthcheck !== 'tcp' && /--health-/.test(service.options ?? '')) {
    reader.reportAt(
      'error',
      'bad-service',
      `Service '${service.id}' sets both 'healthcheck' and --health-* options`,
      `${entries[0]?.path ?? ''}`,
    );
  }
}

function readHealthcheck(reader: YamlReader, entry: MapEntry): ServiceSpec['healthcheck'] {
  const scalar = reader.scalarValue(entry.value);
  if (scalar === 'none' || scalar === 'tcp') return scalar;
  const fields = reader.map(entry.value, entry.path);
  if (!fields) return undefined;
  reader.checkKeys(
    fields,
    new Set(['cmd', 'test', 'interval', 'timeout', 'retries', 'start-period']),
    'healthcheck',
  );
  const cmdEntry = fields.find((f) => f.key === 'cmd' || f.key === 'test');
  // The predecessor's health_check without a command was a no-op: fall back to the TCP probe.
  if (!cmdEntry) return 'tcp';
  const cmd = reader.isSeq(cmdEntry.value)
    ? reader.stringList(cmdEntry.value, cmdEntry.path)
    : reader.string(cmdEntry.value, cmdEntry.path);
  const spec: HealthcheckSpec = { cmd: cmd ?? '' };
  for (const field of fields) readHealthcheckTiming(reader, field, spec);
  return spec;
}

function readHealthcheckTiming(reader: YamlReader, field: MapEntry, spec: HealthcheckSpec): void {
  if (field.key === 'retries') {
    const retries = reader.integer(field.value, field.path, 0);
    if (retries !== undefined) spec.retries = retries;
    return;
  }
  const target = { interval: 'intervalMs', timeout: 'timeoutMs', 'start-period': 'startPeriodMs' } as const;
  const key = target[field.key as keyof typeof target];
  if (!key) return;
  const ms = parseDuration(reader.scalarValue(field.value));
  if (ms === undefined)
    reader.error('bad-type', `'${field.path}' must be a duration such as 5s`, field.path, field.value);
  else spec[key] = ms;
}
