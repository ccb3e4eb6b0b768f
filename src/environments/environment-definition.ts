import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import { yamlDocumentProblem, yamlTextProblem } from 'src/common/input-limits';
import { ENV_KEY, IMAGE_REF } from 'src/domain/container-spec';
import { parsePortSpec, parseVolumeSpec } from 'src/services-runtime/container-options';
import { parseDockerDuration } from 'src/services-runtime/service-options';
import type { HealthcheckSpec, ServiceDefinition } from 'src/services-runtime/service-spec';

/**
 * Environment definitions (docs/environments.md): a template under `environments:` in sandboxes.yml,
 * or a project file in a compose-file subset (`orcaops.yml`, `compose.yml`). Pure: text in, a
 * definition or every problem (file:line: key) out. Any key outside the subset is refused by name,
 * because a compose key that would be silently ignored (ports published to the host, build, networks)
 * is the trap this product must not fall into.
 */

export const MAX_ENVIRONMENT_SERVICES = 8;
/** Service names are DNS names on the environment's network: compose's own rule, lower-cased. */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const ENVIRONMENT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** The sandbox's DNS name on the environment's network (services reach it by this name). */
export const SANDBOX_ALIAS = 'sandbox';

export interface EnvironmentSandboxDefinition {
  image?: string;
  profile?: string;
  env: Record<string, string>;
}

export interface EnvironmentDefinition {
  name?: string;
  description?: string;
  sandbox: EnvironmentSandboxDefinition;
  /** In file order; `dependsOn` names only services of this list (checked, no cycles). */
  services: ServiceDefinition[];
  /** Named volumes (`volumes:` top level); services mount them as `name:/path`. */
  volumes: string[];
}

export interface EnvironmentTemplate extends EnvironmentDefinition {
  name: string;
}

export class EnvironmentDefinitionError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment definition:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvironmentDefinitionError';
  }
}

const TOP_KEYS = new Set(['name', 'description', 'sandbox', 'x-orcaops-sandbox', 'services', 'volumes']);
const SANDBOX_KEYS = new Set(['image', 'profile', 'environment']);
const SERVICE_KEYS = new Set(['image', 'command', 'entrypoint', 'environment', 'healthcheck', 'depends_on', 'volumes', 'ports', 'expose']);
const HEALTH_KEYS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'disable']);
const DEPENDS_KEYS = new Set(['condition']);
const CONDITIONS = new Set(['service_started', 'service_healthy']);

/** Collects problems with the file and line of the node they concern. */
class Problems {
  readonly list: string[] = [];
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  at(node: Node | null | undefined, message: string): void {
    const offset = node?.range?.[0];
    this.list.push(offset === undefined ? `${this.file}: ${message}` : `${this.file}:${this.lines.linePos(offset).line}: ${message}`);
  }
}

interface Ctx {
  problems: Problems;
  /** `services.db`, `environments.web-dev.services.db`: how messages name where a key is. */
  path: string;
}

function entries(map: YAMLMap): Array<{ key: string; keyNode: Node; value: Node | null }> {
  return map.items.map((pair) => ({ key: isScalar(pair.key) ? String(pair.key.value) : String(pair.key), keyNode: pair.key as Node, value: (pair.value as Node | null) ?? null }));
}

/** Refuses keys outside `allowed`, naming each one and its line. */
function checkKeys(ctx: Ctx, map: YAMLMap, allowed: Set<string>, what: string): void {
  for (const { key, keyNode } of entries(map)) {
    if (!allowed.has(key)) ctx.problems.at(keyNode, `${ctx.path ? `${ctx.path}.` : ''}${key}: unsupported key in ${what} (supported: ${[...allowed].join(', ')})`);
  }
}

function str(ctx: Ctx, node: Node | null, field: string, max = 32_768): string | undefined {
  if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number' || typeof node.value === 'boolean')) {
    const value = String(node.value);
    if (value.length <= max) return value;
  }
  ctx.problems.at(node, `${field}: must be a string${max < 32_768 ? ` of at most ${max} characters` : ''}`);
  return undefined;
}

function stringList(ctx: Ctx, node: Node | null, field: string, max: number): string[] | undefined {
  if (!isSeq(node)) {
    ctx.problems.at(node, `${field}: must be a list`);
    return undefined;
  }
  if (node.items.length > max) ctx.problems.at(node, `${field}: at most ${max} entries`);
  return node.items.map((item) => str(ctx, item as Node, field)).filter((s): s is string => s !== undefined);
}

/** `command:` / `entrypoint:`: a string (run by /bin/sh -c, compose splits it; OrcaOps keeps it whole) or an argv list. */
function commandOf(ctx: Ctx, node: Node | null, field: string): string | string[] | undefined {
  if (isSeq(node)) return stringList(ctx, node, field, 256);
  return str(ctx, node, field);
}

/** `environment:` as a map or a `KEY=value` list (compose accepts both). */
function environmentOf(ctx: Ctx, node: Node | null, field: string): Record<string, string> {
  const env: Record<string, string> = {};
  const put = (key: string, value: string, at: Node | null): void => {
    if (!ENV_KEY.test(key)) ctx.problems.at(at, `${field}: "${key}" is not an environment variable name (letters, digits and _)`);
    else env[key] = value;
  };
  if (isMap(node)) {
    for (const { key, keyNode, value } of entries(node)) {
      const text = value === null || (isScalar(value) && value.value === null) ? '' : str(ctx, value, `${field}.${key}`);
      if (text !== undefined) put(key, text, keyNode);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const text = str(ctx, item as Node, field);
      if (text === undefined) continue;
      const eq = text.indexOf('=');
      put(eq < 0 ? text : text.slice(0, eq), eq < 0 ? '' : text.slice(eq + 1), item as Node);
    }
  } else ctx.problems.at(node, `${field}: must be a map or a list of KEY=value`);
  if (Object.keys(env).length > 128) ctx.problems.at(node, `${field}: at most 128 variables`);
  return env;
}

function durationOf(ctx: Ctx, node: Node | null, field: string): number | undefined {
  const text = str(ctx, node, field);
  if (text === undefined) return undefined;
  const ms = parseDockerDuration(text);
  if (ms === undefined || ms < 0 || ms > 3_600_000) ctx.problems.at(node, `${field}: "${text}" is not a duration like 5s, 1m30s (at most 1h)`);
  return ms;
}

/** Compose's healthcheck: `test` as `["CMD", ...]`, `["CMD-SHELL", "..."]` or a string; `disable: true`; durations. */
function healthcheckOf(ctx: Ctx, node: Node | null, field: string): HealthcheckSpec | 'none' | undefined {
  if (!isMap(node)) {
    ctx.problems.at(node, `${field}: must be a map (test, interval, timeout, retries, start_period, disable)`);
    return undefined;
  }
  checkKeys({ ...ctx, path: field }, node, HEALTH_KEYS, 'a healthcheck');
  const get = (key: string): Node | null | undefined => entries(node).find((e) => e.key === key)?.value;
  const disable = get('disable');
  if (disable !== undefined && isScalar(disable) && disable.value === true) return 'none';
  const test = get('test');
  let cmd: string | string[] | undefined;
  if (isSeq(test)) {
    const argv = stringList(ctx, test, `${field}.test`, 64) ?? [];
    const [kind, ...rest] = argv;
    if (kind === 'NONE') return 'none';
    if (kind === 'CMD' && rest.length) cmd = rest;
    else if (kind === 'CMD-SHELL' && rest.length === 1) cmd = rest[0];
    else ctx.problems.at(test, `${field}.test: must be ["CMD", "prog", "arg"...], ["CMD-SHELL", "command"] or a string`);
  } else if (test !== undefined) cmd = str(ctx, test, `${field}.test`);
  else ctx.problems.at(node, `${field}.test: required (or disable: true)`);
  // Every field is checked even when `test` is wrong, so one pass reports all the problems.
  const spec: HealthcheckSpec = { cmd: cmd ?? '' };
  const interval = get('interval');
  const timeout = get('timeout');
  const start = get('start_period');
  const retries = get('retries');
  if (interval !== undefined) spec.intervalMs = durationOf(ctx, interval, `${field}.interval`);
  if (timeout !== undefined) spec.timeoutMs = durationOf(ctx, timeout, `${field}.timeout`);
  if (start !== undefined) spec.startPeriodMs = durationOf(ctx, start, `${field}.start_period`);
  if (retries !== undefined) {
    const n = isScalar(retries) ? Number(retries.value) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 100) ctx.problems.at(retries, `${field}.retries: must be a whole number from 1 to 100`);
    else spec.retries = n;
  }
  return cmd === undefined ? undefined : spec;
}

function dependsOnOf(ctx: Ctx, node: Node | null, field: string): string[] {
  if (isSeq(node)) return stringList(ctx, node, field, MAX_ENVIRONMENT_SERVICES) ?? [];
  if (!isMap(node)) {
    ctx.problems.at(node, `${field}: must be a list of service names or a map of name → {condition}`);
    return [];
  }
  const names: string[] = [];
  for (const { key, value } of entries(node)) {
    names.push(key);
    if (value === null || (isScalar(value) && value.value === null)) continue;
    if (!isMap(value)) {
      ctx.problems.at(value, `${field}.${key}: must be a map with condition`);
      continue;
    }
    checkKeys({ ...ctx, path: `${field}.${key}` }, value, DEPENDS_KEYS, 'depends_on');
    const condition = entries(value).find((e) => e.key === 'condition');
    const text = condition ? str(ctx, condition.value, `${field}.${key}.condition`) : undefined;
    // service_completed_successfully would need a one-shot service, which environments do not run.
    if (text !== undefined && !CONDITIONS.has(text)) ctx.problems.at(condition?.value, `${field}.${key}.condition: "${text}" is not supported (service_started or service_healthy)`);
  }
  return names;
}

/** `ports:` / `expose:`: internal ports only; a host port (`8080:80`) would be published, which OrcaOps never does. */
function portsOf(ctx: Ctx, node: Node | null, field: string): string[] {
  const ports: string[] = [];
  for (const entry of stringList(ctx, node, field, 32) ?? []) {
    const spec = parsePortSpec(entry);
    if ('error' in spec) ctx.problems.at(node, `${field}: ${spec.error}`);
    else if (spec.hostPort !== undefined) ctx.problems.at(node, `${field}: "${entry}" publishes a host port; environments keep services on their private network (write only the container port, e.g. ${spec.containerPort})`);
    else ports.push(entry);
  }
  return ports;
}

function serviceOf(ctx: Ctx, id: string, idNode: Node, node: Node | null, volumes: Set<string>): ServiceDefinition | undefined {
  const path = `${ctx.path}services.${id}`;
  if (!SERVICE_NAME.test(id) || id === SANDBOX_ALIAS) {
    ctx.problems.at(idNode, `${path}: service names are lower-case letters, digits, - and _ (max 63), and not "${SANDBOX_ALIAS}"`);
  }
  if (!isMap(node)) {
    ctx.problems.at(node ?? idNode, `${path}: must be a map`);
    return undefined;
  }
  const sub = { ...ctx, path };
  checkKeys(sub, node, SERVICE_KEYS, 'an environment service');
  const service: ServiceDefinition = { id, image: '', env: {}, ports: [], volumes: [] };
  for (const { key, value } of entries(node)) {
    const field = `${path}.${key}`;
    switch (key) {
      case 'image': {
        const image = str(ctx, value, field, 256);
        if (image !== undefined && !IMAGE_REF.test(image)) ctx.problems.at(value, `${field}: "${image}" is not an image reference like name[:tag][@sha256:digest]`);
        service.image = image ?? '';
        break;
      }
      case 'command':
        service.command = commandOf(ctx, value, field);
        break;
      case 'entrypoint':
        service.entrypoint = commandOf(ctx, value, field);
        break;
      case 'environment':
        service.env = environmentOf(ctx, value, field);
        break;
      case 'healthcheck':
        service.healthcheck = healthcheckOf(ctx, value, field);
        break;
      case 'depends_on':
        service.dependsOn = dependsOnOf(ctx, value, field);
        break;
      case 'ports':
      case 'expose':
        service.ports.push(...portsOf(ctx, value, field));
        break;
      case 'volumes':
        for (const entry of stringList(ctx, value, field, 16) ?? []) {
          const spec = parseVolumeSpec(entry);
          if ('error' in spec) ctx.problems.at(value, `${field}: ${spec.error}`);
          else if (!spec.anonymous && !volumes.has(spec.name)) ctx.problems.at(value, `${field}: volume "${spec.name}" is not declared under the top-level volumes:`);
          else service.volumes.push(entry);
        }
        break;
    }
  }
  if (!service.image) ctx.problems.at(idNode, `${path}.image: required`);
  return service;
}

function sandboxOf(ctx: Ctx, node: Node | null, field: string): EnvironmentSandboxDefinition {
  const sandbox: EnvironmentSandboxDefinition = { env: {} };
  if (!isMap(node)) {
    ctx.problems.at(node, `${field}: must be a map (image, profile, environment)`);
    return sandbox;
  }
  checkKeys({ ...ctx, path: field }, node, SANDBOX_KEYS, 'the sandbox');
  for (const { key, value } of entries(node)) {
    if (key === 'image') {
      const image = str(ctx, value, `${field}.image`, 256);
      if (image !== undefined && !IMAGE_REF.test(image)) ctx.problems.at(value, `${field}.image: "${image}" is not an image reference`);
      else sandbox.image = image;
    } else if (key === 'profile') sandbox.profile = str(ctx, value, `${field}.profile`, 63);
    else if (key === 'environment') sandbox.env = environmentOf(ctx, value, `${field}.environment`);
  }
  return sandbox;
}

/** Unknown dependencies and cycles, named. */
function checkDependencies(ctx: Ctx, services: ServiceDefinition[], at: Node | null): void {
  const ids = new Set(services.map((s) => s.id));
  for (const s of services) {
    for (const d of s.dependsOn ?? []) if (!ids.has(d)) ctx.problems.at(at, `${ctx.path}services.${s.id}.depends_on: no service "${d}"`);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const byId = new Map(services.map((s) => [s.id, s]));
  const visit = (id: string, trail: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      ctx.problems.at(at, `${ctx.path}services: depends_on cycle ${[...trail.slice(trail.indexOf(id)), id].join(' → ')}`);
      return;
    }
    state.set(id, 'visiting');
    for (const d of byId.get(id)?.dependsOn ?? []) if (byId.has(d)) visit(d, [...trail, id]);
    state.set(id, 'done');
  };
  for (const s of services) visit(s.id, []);
}

/** One definition from its map node (a project file's top level, or one template). */
function definitionOf(ctx: Ctx, map: YAMLMap): EnvironmentDefinition {
  checkKeys(ctx, map, TOP_KEYS, ctx.path ? 'an environment template' : 'an environment file');
  const get = (key: string): { value: Node | null; keyNode: Node } | undefined => entries(map).find((e) => e.key === key);
  const definition: EnvironmentDefinition = { sandbox: { env: {} }, services: [], volumes: [] };
  const name = get('name');
  if (name) {
    definition.name = str(ctx, name.value, `${ctx.path}name`, 63);
    if (definition.name !== undefined && !ENVIRONMENT_NAME.test(definition.name)) ctx.problems.at(name.value, `${ctx.path}name: lower-case letters, digits, - and _ (max 63)`);
  }
  const description = get('description');
  if (description) definition.description = str(ctx, description.value, `${ctx.path}description`, 500);
  const sandbox = get('sandbox') ?? get('x-orcaops-sandbox');
  if (sandbox) definition.sandbox = sandboxOf(ctx, sandbox.value, `${ctx.path}${sandbox === get('sandbox') ? 'sandbox' : 'x-orcaops-sandbox'}`);
  const volumes = get('volumes');
  if (volumes) {
    if (!isMap(volumes.value)) ctx.problems.at(volumes.value ?? volumes.keyNode, `${ctx.path}volumes: must be a map of volume names`);
    else {
      for (const { key, keyNode, value } of entries(volumes.value)) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(key)) ctx.problems.at(keyNode, `${ctx.path}volumes.${key}: not a volume name`);
        // Driver, external, labels...: none apply (volumes are the environment's own, in memory and sized).
        if (isMap(value) && value.items.length) checkKeys({ ...ctx, path: `${ctx.path}volumes.${key}` }, value, new Set(), 'a named volume');
        definition.volumes.push(key);
      }
    }
  }
  const services = get('services');
  if (!services || !isMap(services.value)) {
    ctx.problems.at(services?.value ?? map, `${ctx.path}services: required, a map of service name → service`);
    return definition;
  }
  const declared = new Set(definition.volumes);
  for (const { key, keyNode, value } of entries(services.value)) {
    const service = serviceOf(ctx, key, keyNode, value, declared);
    if (service) definition.services.push(service);
  }
  if (definition.services.length > MAX_ENVIRONMENT_SERVICES) ctx.problems.at(services.value, `${ctx.path}services: at most ${MAX_ENVIRONMENT_SERVICES} services`);
  checkDependencies(ctx, definition.services, services.value);
  return definition;
}

function documentOf(text: string, file: string): { root: Node | null; problems: Problems } {
  const lines = new LineCounter();
  const problems = new Problems(file, lines);
  const tooDeep = yamlTextProblem(text);
  if (tooDeep) throw new EnvironmentDefinitionError([`${file}: ${tooDeep}`]);
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length) throw new EnvironmentDefinitionError(doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: YAML syntax: ${e.message.split('\n')[0]}`));
  const tooLarge = yamlDocumentProblem(doc);
  if (tooLarge) throw new EnvironmentDefinitionError([`${file}: ${tooLarge}`]);
  return { root: doc.contents, problems };
}

/** A project file (`orcaops.yml`, `compose.yml`): one definition; throws EnvironmentDefinitionError listing every problem. */
export function parseEnvironmentFile(text: string, file: string): EnvironmentDefinition {
  const { root, problems } = documentOf(text, file);
  if (!isMap(root)) throw new EnvironmentDefinitionError([`${file}: must be a map with services:`]);
  const definition = definitionOf({ problems, path: '' }, root);
  if (problems.list.length) throw new EnvironmentDefinitionError(problems.list);
  return definition;
}

/** The `environments:` templates of sandboxes.yml (the profiles are parsed by src/sandboxes); [] without the key. */
export function parseEnvironmentTemplates(text: string, file: string): EnvironmentTemplate[] {
  const { root, problems } = documentOf(text, file);
  if (!isMap(root)) return [];
  const section = entries(root).find((e) => e.key === 'environments');
  if (!section) return [];
  if (!isMap(section.value)) throw new EnvironmentDefinitionError([`${file}: environments: must be a map of template name → definition`]);
  const templates: EnvironmentTemplate[] = [];
  for (const { key, keyNode, value } of entries(section.value)) {
    const path = `environments.${key}.`;
    if (!ENVIRONMENT_NAME.test(key)) problems.at(keyNode, `environments.${key}: template names are lower-case letters, digits, - and _ (max 63)`);
    if (!isMap(value)) {
      problems.at(value ?? keyNode, `environments.${key}: must be a map with services:`);
      continue;
    }
    templates.push({ ...definitionOf({ problems, path }, value), name: key });
  }
  if (problems.list.length) throw new EnvironmentDefinitionError(problems.list);
  return templates.sort((a, b) => a.name.localeCompare(b.name));
}

function durationText(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A definition as a project file in the same subset (what `orcaops init TEMPLATE` writes); parses back to itself. */
export function renderEnvironmentFile(definition: EnvironmentDefinition): string {
  // Leaves out what is unset or empty, so the file shows only what the definition says.
  const empty = (v: unknown): boolean => v === undefined || (Array.isArray(v) ? !v.length : typeof v === 'object' && v !== null && !Object.keys(v).length);
  const clean = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => !empty(v))) as T;
  const health = (h: ServiceDefinition['healthcheck']): unknown => {
    if (h === undefined || h === 'tcp') return undefined;
    if (h === 'none') return { disable: true };
    return clean({
      test: Array.isArray(h.cmd) ? ['CMD', ...h.cmd] : ['CMD-SHELL', h.cmd],
      interval: durationText(h.intervalMs),
      timeout: durationText(h.timeoutMs),
      retries: h.retries,
      start_period: durationText(h.startPeriodMs),
    });
  };
  const file = clean({
    name: definition.name,
    description: definition.description,
    sandbox: clean({ image: definition.sandbox.image, profile: definition.sandbox.profile, environment: definition.sandbox.env }),
    services: Object.fromEntries(
      definition.services.map((s) => [
        s.id,
        clean({ image: s.image, command: s.command, entrypoint: s.entrypoint, environment: s.env, healthcheck: health(s.healthcheck), depends_on: s.dependsOn, volumes: s.volumes, expose: s.ports }),
      ]),
    ),
    volumes: definition.volumes.length ? Object.fromEntries(definition.volumes.map((v) => [v, {}])) : undefined,
  });
  return stringify(file, { lineWidth: 0 });
}
