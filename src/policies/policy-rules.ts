import type {
  EffectivePolicy,
  EgressRule,
  OutsideAllowRule,
  PolicyDecision,
  PolicyDocument,
  PolicyRequest,
  PolicyViolation,
} from 'src/policies/policy-model';
import { DEFAULT_MAX_TIMEOUT_SECONDS } from 'src/domain/container-spec';
import { APPROVAL_THRESHOLDS, DEFAULT_APPROVAL_EXPIRY_SECONDS, RESOURCE_MAXIMUMS } from 'src/policies/policy-model';
import { compileDenyPattern, MAX_DOCUMENT_PROGRAM } from 'src/policies/deny-pattern';
import { compileImageGlob } from 'src/policies/image-glob';
import { InvalidImageReference, parseImageReference } from 'src/runtime/image-reference';
import { cidrWithin, domainCovers, effectiveEgress, egressRuleProblems, narrowingProblems } from 'src/policies/egress-rules';
import type { Role } from 'src/tenancy/permissions';

/**
 * Pure policy decisions (no I/O), each covered by policy-rules.spec.ts: combining the organisation
 * default with a workspace policy, refusing a workspace policy that widens, and deciding a request.
 */

export interface FieldProblem {
  field: string;
  message: string;
}

/** The organisation admin's per-workspace egress grant (workspace setting `allow_network_egress`). */
export interface OrganisationGrant {
  egressGranted: boolean;
}

const EGRESS_RANK: Record<EgressRule, number> = { deny: 0, require_approval: 1, allow: 2 };
const OUTSIDE_RANK: Record<OutsideAllowRule, number> = { deny: 0, require_approval: 1 };

const minOf = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/**
 * The organisation's maximums with their defaults: a job's timeout is capped at 30 minutes unless the
 * organisation policy allows longer (up to MAX_TIMEOUT_SECONDS); a workspace policy can only lower it.
 */
function organisationMaximum(org: PolicyDocument, key: (typeof RESOURCE_MAXIMUMS)[number]): number | undefined {
  return org.resources?.[key] ?? (key === 'max_timeout_seconds' ? DEFAULT_MAX_TIMEOUT_SECONDS : undefined);
}

/** The organisation level as it applies to one workspace: the default plus the egress grant. */
function organisationEgress(org: PolicyDocument, grant: OrganisationGrant): EgressRule {
  return grant.egressGranted ? 'allow' : (org.network?.egress ?? 'deny');
}

/** Organisation ∩ workspace: deny lists union, allow lists all apply, maximums min, permissions AND. */
export function effectivePolicy(org: PolicyDocument, workspace: PolicyDocument, grant: OrganisationGrant): EffectivePolicy {
  const levels = [org, workspace];
  const egress = [organisationEgress(org, grant), workspace.network?.egress ?? 'allow'] as EgressRule[];
  const outside = [org.images?.outside_allow ?? 'deny', workspace.images?.outside_allow ?? 'require_approval'] as OutsideAllowRule[];
  const resources: EffectivePolicy['resources'] = { approval_above: {} };
  for (const key of RESOURCE_MAXIMUMS) {
    const value = minOf(organisationMaximum(org, key), workspace.resources?.[key]);
    if (value !== undefined) resources[key] = value;
  }
  for (const key of APPROVAL_THRESHOLDS) {
    const value = minOf(org.resources?.approval_above?.[key], workspace.resources?.approval_above?.[key]);
    if (value !== undefined) resources.approval_above[key] = value;
  }
  const egressRule = egress.reduce((a, b) => (EGRESS_RANK[a] <= EGRESS_RANK[b] ? a : b));
  return {
    images: {
      allow: levels.map((l) => l.images?.allow).filter((a): a is string[] => a !== undefined),
      deny: unique(levels.flatMap((l) => l.images?.deny ?? [])),
      require_digest: levels.some((l) => l.images?.require_digest === true),
      outside_allow: outside.reduce((a, b) => (OUTSIDE_RANK[a] <= OUTSIDE_RANK[b] ? a : b)),
      registries: levels.map((l) => l.images?.registries).filter((a): a is string[] => a !== undefined),
      pull_approval: levels.some((l) => l.images?.pull_approval === true),
      ...optionalMin('max_size_mb', org.images?.max_size_mb, workspace.images?.max_size_mb),
      ...optionalMin('max_cache_mb', org.images?.max_cache_mb, workspace.images?.max_cache_mb),
    },
    commands: {
      deny: unique(levels.flatMap((l) => l.commands?.deny ?? [])),
      deny_patterns: unique(levels.flatMap((l) => l.commands?.deny_patterns ?? [])),
    },
    network: {
      egress: egressRule,
      destinations: effectiveEgress(egressRule, [
        { level: 'organisation', rules: org.network },
        { level: 'workspace', rules: workspace.network },
      ]),
      published_ports: org.network?.published_ports === true && workspace.network?.published_ports !== false,
    },
    resources,
    isolation: { writable_root_fs: org.isolation?.writable_root_fs === true && workspace.isolation?.writable_root_fs !== false },
    approvals: {
      expire_after_seconds: minOf(org.approvals?.expire_after_seconds ?? DEFAULT_APPROVAL_EXPIRY_SECONDS, workspace.approvals?.expire_after_seconds)!,
      allow_self_approval: org.approvals?.allow_self_approval === true && workspace.approvals?.allow_self_approval !== false,
    },
    secrets: {
      allowed_roles: levels.map((l) => l.secrets?.allowed_roles).filter((r): r is Role[] => r !== undefined),
      rules: levels.flatMap((l) => l.secrets?.rules ?? []),
    },
  };
}

function optionalMin<K extends string>(key: K, a: number | undefined, b: number | undefined): Partial<Record<K, number>> {
  const value = minOf(a, b);
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** Problems a document has on its own: regular expressions RE2 refuses or that are too large, empty globs, bad egress rules. */
export function documentProblems(doc: PolicyDocument, level: 'organisation' | 'workspace' = 'workspace'): FieldProblem[] {
  const problems: FieldProblem[] = egressRuleProblems(doc.network, level === 'organisation');
  let program = 0;
  for (const [i, pattern] of (doc.commands?.deny_patterns ?? []).entries()) {
    const compiled = compileDenyPattern(pattern);
    if (compiled.ok) program += compiled.size;
    else problems.push({ field: `commands.deny_patterns.${i}`, message: compiled.problem });
    if (program > MAX_DOCUMENT_PROGRAM) {
      // Compiling costs as much as the program is large: stop at the budget.
      problems.push({ field: 'commands.deny_patterns', message: `the patterns compile to more than ${MAX_DOCUMENT_PROGRAM} instructions together (the limit)` });
      break;
    }
  }
  for (const list of ['allow', 'deny', 'registries'] as const) {
    (doc.images?.[list] ?? []).forEach((glob, i) => {
      if (!glob.trim()) return void problems.push({ field: `images.${list}.${i}`, message: 'an image pattern cannot be empty' });
      const compiled = compileImageGlob(glob);
      if (!compiled.ok) problems.push({ field: `images.${list}.${i}`, message: compiled.problem });
    });
  }
  return problems;
}

/** Every field where a workspace policy would allow more than the organisation does for it. */
export function wideningProblems(org: PolicyDocument, workspace: PolicyDocument, grant: OrganisationGrant): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const wider = (field: string, message: string): void => void problems.push({ field, message: `widens the organisation policy: ${message}` });
  const orgAllow = org.images?.allow;
  if (orgAllow) {
    (workspace.images?.allow ?? []).forEach((pattern, i) => {
      if (!orgAllow.some((o) => globMatches(o, pattern, false))) wider(`images.allow.${i}`, `"${pattern}" is outside the organisation's allow list`);
    });
  }
  const orgRegistries = org.images?.registries;
  if (orgRegistries) {
    (workspace.images?.registries ?? []).forEach((pattern, i) => {
      if (!orgRegistries.some((o) => globMatches(o, pattern, false))) wider(`images.registries.${i}`, `"${pattern}" is outside the organisation's registries`);
    });
  }
  if (org.images?.pull_approval === true && workspace.images?.pull_approval === false) wider('images.pull_approval', 'the organisation requires an approval for pulls');
  const [mySize, orgSize] = [workspace.images?.max_size_mb, org.images?.max_size_mb];
  if (mySize !== undefined && orgSize !== undefined && mySize > orgSize) wider('images.max_size_mb', `${mySize} is above the organisation's ${orgSize}`);
  const [myCache, orgCache] = [workspace.images?.max_cache_mb, org.images?.max_cache_mb];
  if (myCache !== undefined && orgCache !== undefined && myCache > orgCache) wider('images.max_cache_mb', `${myCache} is above the organisation's ${orgCache}`);
  if (org.images?.require_digest === true && workspace.images?.require_digest === false) wider('images.require_digest', 'the organisation requires digests');
  const outside = workspace.images?.outside_allow;
  if (outside && OUTSIDE_RANK[outside] > OUTSIDE_RANK[org.images?.outside_allow ?? 'deny']) wider('images.outside_allow', 'the organisation refuses images outside the allow list');
  const egress = workspace.network?.egress;
  const orgEgress = organisationEgress(org, grant);
  if (egress && EGRESS_RANK[egress] > EGRESS_RANK[orgEgress]) wider('network.egress', `the organisation's rule for this workspace is "${orgEgress}"`);
  problems.push(...egressWidening(org, workspace));
  if (workspace.network?.published_ports === true && org.network?.published_ports !== true) wider('network.published_ports', 'the organisation does not allow published ports');
  for (const key of RESOURCE_MAXIMUMS) {
    const [mine, theirs] = [workspace.resources?.[key], organisationMaximum(org, key)];
    if (mine !== undefined && theirs !== undefined && mine > theirs) wider(`resources.${key}`, `${mine} is above the organisation's ${theirs}`);
  }
  for (const key of APPROVAL_THRESHOLDS) {
    const [mine, theirs] = [workspace.resources?.approval_above?.[key], org.resources?.approval_above?.[key]];
    if (mine !== undefined && theirs !== undefined && mine > theirs) wider(`resources.approval_above.${key}`, `${mine} is above the organisation's ${theirs}`);
  }
  if (workspace.isolation?.writable_root_fs === true && org.isolation?.writable_root_fs !== true) wider('isolation.writable_root_fs', 'the organisation keeps the root filesystem read-only');
  const expiry = workspace.approvals?.expire_after_seconds;
  const orgExpiry = org.approvals?.expire_after_seconds ?? DEFAULT_APPROVAL_EXPIRY_SECONDS;
  if (expiry !== undefined && expiry > orgExpiry) wider('approvals.expire_after_seconds', `${expiry} is longer than the organisation's ${orgExpiry}`);
  if (workspace.approvals?.allow_self_approval === true && org.approvals?.allow_self_approval !== true) {
    wider('approvals.allow_self_approval', 'the organisation requires a second person to approve (four eyes)');
  }
  const orgRoles = org.secrets?.allowed_roles;
  (workspace.secrets?.allowed_roles ?? []).forEach((role, i) => {
    if (orgRoles && !orgRoles.includes(role)) wider(`secrets.allowed_roles.${i}`, `the organisation does not let ${role} tokens use secrets`);
  });
  return problems;
}

/** Workspace egress lists must stay inside the organisation's: names under its names, ranges inside its ranges, ports among its ports. */
function egressWidening(org: PolicyDocument, workspace: PolicyDocument): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const o = org.network ?? {};
  const w = workspace.network ?? {};
  const wider = (field: string, message: string): void => void problems.push({ field, message: `widens the organisation policy: ${message}` });
  if (o.allow_domains !== undefined || o.allow_cidrs !== undefined) {
    (w.allow_domains ?? []).forEach((name, i) => {
      if (!(o.allow_domains ?? []).some((pattern) => domainCovers(pattern, name))) wider(`network.allow_domains.${i}`, `"${name}" is outside the organisation's allow_domains`);
    });
    (w.allow_cidrs ?? []).forEach((cidr, i) => {
      if (!cidrWithin(cidr, o.allow_cidrs ?? [])) wider(`network.allow_cidrs.${i}`, `"${cidr}" is outside the organisation's allow_cidrs`);
    });
  }
  const orgPorts = o.allow_ports;
  (w.allow_ports ?? []).forEach((port, i) => {
    if (!(orgPorts ?? [80, 443]).includes(port)) wider(`network.allow_ports.${i}`, `port ${port} is not among the organisation's ports`);
  });
  return problems;
}

/** Repository name of a reference: `reg/name:tag@sha256:…` → `reg/name`. */
function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

/** A glob that cannot be compiled (stored before globs were checked) answers `fallback`: the stricter answer for its list. */
function globMatches(glob: string, text: string, fallback: boolean): boolean {
  const compiled = compileImageGlob(glob);
  return compiled.ok ? compiled.matches(text) : fallback;
}

/** A glob matches the reference as written or its repository name, so `deny: [x]` covers every tag of x. */
function imageMatches(glob: string, image: string, fallback: boolean): boolean {
  return globMatches(glob, image, fallback) || globMatches(glob, repositoryOf(image), fallback);
}

/**
 * Pull rules decided without the engine: a reference naming a registry host (or any reference with
 * pull policy `always`) may pull, so its registry must be allowed and, with pull_approval, approved.
 * A short name without a host (`orcaops/python`) runs from the engine when present; if it would have to
 * be pulled, the puller refuses it then (denied_by_policy) unless its registry is allowed.
 */
export function pullViolations(policy: EffectivePolicy['images'], image: string, pullPolicy: PolicyRequest['pull_policy'] = 'if_not_present'): PolicyViolation[] {
  let ref: ReturnType<typeof parseImageReference>;
  try {
    ref = parseImageReference(image);
  } catch (error) {
    const message = error instanceof InvalidImageReference ? error.message : `invalid image reference "${image}"`;
    return [{ rule: 'images', field: 'image', effect: 'deny', message }];
  }
  const { registry } = ref;
  const mayPull = pullPolicy !== 'never' && (ref.explicitRegistry || pullPolicy === 'always');
  if (!mayPull) return [];
  if (!registryAllowed(policy, registry)) {
    return [{ rule: 'images', field: 'image', effect: 'deny', message: `pulling from registry "${registry}" is not allowed (images.registries)` }];
  }
  if (policy.pull_approval) return [{ rule: 'images', field: 'image', effect: 'require_approval', message: `pulling "${image}" from "${registry}" needs an approval` }];
  return [];
}

/** Whether the policy lets images be pulled from `registry` (no list at any level: none). */
export function registryAllowed(policy: EffectivePolicy['images'], registry: string): boolean {
  return policy.registries.length > 0 && policy.registries.every((list) => list.some((g) => globMatches(g, registry, false)));
}

/** The allow/deny/require_digest rules on one image reference (exported for image builds' base images). */
export function imageViolations(policy: EffectivePolicy['images'], image: string): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const denied = policy.deny.filter((g) => imageMatches(g, image, true));
  if (denied.length) out.push({ rule: 'images', field: 'image', effect: 'deny', message: `image "${image}" matches the deny list (${denied.join(', ')})` });
  if (policy.require_digest && !/@sha256:[a-f0-9]{64}$/.test(image)) {
    out.push({ rule: 'images', field: 'image', effect: 'deny', message: `image "${image}" must be pinned by digest (name@sha256:…)` });
  }
  const outside = policy.allow.filter((list) => !list.some((g) => imageMatches(g, image, false)));
  if (outside.length) {
    const lists = outside.map((l) => (l.length ? l.join(', ') : 'an empty list')).join(' and ');
    out.push({ rule: 'images', field: 'image', effect: policy.outside_allow, message: `image "${image}" is not in the allow list (${lists})` });
  }
  return out;
}

function commandViolations(policy: EffectivePolicy['commands'], commands: PolicyRequest['commands']): PolicyViolation[] {
  const patterns = policy.deny_patterns.map((p) => ({ source: p, compiled: compileDenyPattern(p) }));
  return commands.flatMap(({ field, command }) => {
    const text = command.trim();
    const out: PolicyViolation[] = [];
    if (policy.deny.includes(text)) out.push({ rule: 'commands', field, effect: 'deny', message: `command "${clip(text)}" is denied` });
    for (const p of patterns) {
      // A pattern saved before patterns were checked with RE2 and that RE2 refuses: fail closed.
      if (!p.compiled.ok) out.push({ rule: 'commands', field, effect: 'deny', message: `the denied pattern /${p.source}/ cannot be evaluated (${p.compiled.problem}); an admin must fix the policy` });
      else if (p.compiled.regex.test(text)) out.push({ rule: 'commands', field, effect: 'deny', message: `command "${clip(text)}" matches the denied pattern /${p.source}/` });
    }
    return out;
  });
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function networkViolations(policy: EffectivePolicy['network'], req: PolicyRequest): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  if (req.network === 'egress' && policy.egress !== 'allow') {
    const effect = policy.egress === 'deny' ? 'deny' : 'require_approval';
    out.push({ rule: 'network', field: 'network', effect, message: effect === 'deny' ? 'network "egress" is not allowed in this workspace (only "none")' : 'network "egress" needs an approval in this workspace' });
  }
  if ((req.published_ports ?? 0) > 0 && !policy.published_ports) {
    out.push({ rule: 'network', field: 'ports', effect: 'deny', message: 'publishing container ports is not allowed' });
  }
  if (req.egress && req.network !== 'egress') {
    out.push({ rule: 'network', field: 'egress', effect: 'deny', message: 'egress destinations narrow network "egress"; this request has network "none"' });
  }
  if (req.egress) {
    for (const p of narrowingProblems(policy.destinations, req.egress)) out.push({ rule: 'network', field: p.field, effect: 'deny', message: `egress widens the policy: ${p.field}: ${p.message}` });
  }
  return out;
}

const REQUESTED: Array<[keyof PolicyRequest['resources'] | 'timeout_seconds' | 'ttl_seconds', (typeof RESOURCE_MAXIMUMS)[number], string]> = [
  ['cpu', 'max_cpu', 'resources.cpu'],
  ['memory_mb', 'max_memory_mb', 'resources.memory_mb'],
  ['pids', 'max_pids', 'resources.pids'],
  ['disk_mb', 'max_disk_mb', 'resources.disk_mb'],
  ['timeout_seconds', 'max_timeout_seconds', 'timeout_seconds'],
  ['ttl_seconds', 'max_ttl_seconds', 'ttl_seconds'],
];

function requested(req: PolicyRequest, key: (typeof REQUESTED)[number][0]): number | undefined {
  return key === 'timeout_seconds' || key === 'ttl_seconds' ? req[key] : req.resources[key];
}

function resourceViolations(policy: EffectivePolicy['resources'], req: PolicyRequest): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const overMax = new Set<string>();
  for (const [key, max, field] of REQUESTED) {
    const value = requested(req, key);
    const limit = policy[max];
    if (value !== undefined && limit !== undefined && value > limit) {
      overMax.add(key);
      out.push({ rule: 'resources', field, effect: 'deny', message: `${field} ${value} is above the maximum ${limit}` });
    }
  }
  for (const key of APPROVAL_THRESHOLDS) {
    const value = key === 'timeout_seconds' ? req.timeout_seconds : req.resources[key];
    const threshold = policy.approval_above[key];
    if (value !== undefined && threshold !== undefined && value > threshold && !overMax.has(key)) {
      const field = key === 'timeout_seconds' ? key : `resources.${key}`;
      out.push({ rule: 'resources', field, effect: 'require_approval', message: `${field} ${value} is above ${threshold} and needs an approval` });
    }
  }
  return out;
}

/** The decision for one request, with every violation (not just the first). Deny wins over approval. */
export function evaluatePolicy(policy: EffectivePolicy, req: PolicyRequest): PolicyDecision {
  const violations = [
    ...imageViolations(policy.images, req.image),
    ...pullViolations(policy.images, req.image, req.pull_policy),
    ...commandViolations(policy.commands, req.commands),
    ...networkViolations(policy.network, req),
    ...resourceViolations(policy.resources, req),
  ];
  const decision = violations.some((v) => v.effect === 'deny') ? 'denied' : violations.length ? 'requires_approval' : 'allowed';
  return { decision, violations };
}

/** Only the command deny rules, for commands run inside a live sandbox (exec, shell, process). */
/** `*` matches any run of characters; everything else is literal (names are [A-Z0-9_]). */
function secretNameMatches(glob: string, name: string): boolean {
  return glob === name || (glob.includes('*') && new RegExp(`^${glob.split('*').map((p) => p.replace(/[^A-Za-z0-9_]/g, '\\$&')).join('.*')}$`).test(name));
}

/** Which of these secrets a token of `role` may not use (organisation tokens start no work, so they have no role). */
export function secretViolations(policy: EffectivePolicy['secrets'], role: Role, names: string[]): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const refuse = (name: string, message: string): void => void violations.push({ rule: 'secrets', field: `secrets.${name}`, message, effect: 'deny' });
  for (const name of names) {
    if (policy.allowed_roles.some((roles) => !roles.includes(role))) refuse(name, `${role} tokens may not use secrets (secrets.allowed_roles)`);
    else if (policy.rules.some((r) => r.names.some((g) => secretNameMatches(g, name)) && !r.roles.includes(role))) refuse(name, `${role} tokens may not use the secret ${name} (secrets.rules)`);
  }
  return violations;
}

export function evaluateCommands(policy: EffectivePolicy, commands: PolicyRequest['commands']): PolicyDecision {
  const violations = commandViolations(policy.commands, commands);
  return { decision: violations.length ? 'denied' : 'allowed', violations };
}
