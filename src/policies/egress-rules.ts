import { BlockList, isIP } from 'node:net';

/** The same values as policy-model's EgressRule (kept here so the model can import this file without a cycle). */
type EgressRule = 'deny' | 'require_approval' | 'allow';

/**
 * Egress destination rules (issue 14): which host:port a job or sandbox with network `egress` may reach
 * through the OrcaOps egress gateway. Pure functions, no I/O: the gateway resolves names and passes the
 * addresses it is about to connect to, so the decision is on the address actually used (DNS-rebinding
 * safe), and the dry run (`POST /v1/policies/evaluate`) calls the same function.
 */

/** The egress part of one policy document (organisation or workspace); all fields optional. */
export interface EgressDestinationRules {
  /** Names a destination may have: exact (`pypi.org`) or `*.example.com` (any name below, not the apex). */
  allow_domains?: string[];
  /** Address ranges a destination may resolve to (`203.0.113.0/24`, `2001:db8::/32`, or one address). */
  allow_cidrs?: string[];
  /** Destination ports (default 80 and 443). */
  allow_ports?: number[];
  /** Names always refused (exact or `*.` wildcard); deny wins over every allow. */
  deny_domains?: string[];
  /** Address ranges always refused; deny wins over every allow. */
  deny_cidrs?: string[];
  /**
   * Organisation admins only: ranges inside the always-denied classes (private, loopback, link-local,
   * the host, Docker networks, OrcaOps' own services) that may still be allowed by the rules above.
   */
  allow_protected_cidrs?: string[];
}

export const DEFAULT_EGRESS_PORTS = [80, 443];

/** Always refused unless the organisation lists the range in `allow_protected_cidrs`. */
export const PROTECTED_RANGES: ReadonlyArray<{ cidr: string; what: string }> = [
  { cidr: '0.0.0.0/8', what: 'unspecified ("this network")' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local (cloud metadata, e.g. 169.254.169.254)' },
  { cidr: '10.0.0.0/8', what: 'private (RFC 1918)' },
  { cidr: '172.16.0.0/12', what: 'private (RFC 1918; Docker networks)' },
  { cidr: '192.168.0.0/16', what: 'private (RFC 1918)' },
  { cidr: '100.64.0.0/10', what: 'shared address space (carrier-grade NAT)' },
  { cidr: '192.0.0.0/24', what: 'IETF protocol assignments' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved (incl. broadcast)' },
  { cidr: '::/128', what: 'unspecified' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: 'fe80::/10', what: 'link-local' },
  { cidr: 'fc00::/7', what: 'private (unique local)' },
  { cidr: 'ff00::/8', what: 'multicast' },
];

/** Where the protected set comes from besides the fixed ranges: this host, Docker networks, OrcaOps' own services. */
export interface ProtectedAddress {
  cidr: string;
  what: string;
}

export interface EgressDestination {
  /** What the workload asked for: a name or an IP literal. */
  host: string;
  port: number;
  /** The addresses the name resolves to now (an IP literal: itself). */
  addresses: string[];
}

export interface EgressVerdict {
  allowed: boolean;
  /** The rule that decided, e.g. `network.deny_domains "*.evil.test" (workspace)`. */
  rule: string;
  /** One line for people: what was decided and why. */
  message: string;
  /** Allowed: the addresses that may be connected to (in resolver order). */
  addresses: string[];
}

/** The effective egress rules of a workspace: organisation ∩ workspace. */
export interface EffectiveEgress {
  /** The request-level rule for network `egress` at all (deny / require_approval / allow). */
  egress: EgressRule;
  /** Each level that sets allow lists; a destination must match every one (organisation first). */
  allow: Array<{ level: 'organisation' | 'workspace' | 'request'; domains: string[]; cidrs: string[] }>;
  ports: number[];
  deny_domains: Array<{ level: string; pattern: string }>;
  deny_cidrs: Array<{ level: string; cidr: string }>;
  allow_protected_cidrs: string[];
}

type Level = 'organisation' | 'workspace' | 'request';

/** organisation ∩ workspace (∩ request): deny lists united, allow lists all apply, ports intersected. */
export function effectiveEgress(egress: EgressRule, levels: Array<{ level: Level; rules?: EgressDestinationRules }>): EffectiveEgress {
  const out: EffectiveEgress = { egress, allow: [], ports: [...DEFAULT_EGRESS_PORTS], deny_domains: [], deny_cidrs: [], allow_protected_cidrs: [] };
  let ports: number[] | undefined;
  for (const { level, rules } of levels) {
    if (!rules) continue;
    if (rules.allow_domains !== undefined || rules.allow_cidrs !== undefined) {
      out.allow.push({ level, domains: (rules.allow_domains ?? []).map(normalizeName), cidrs: rules.allow_cidrs ?? [] });
    }
    if (rules.allow_ports !== undefined) ports = ports === undefined ? [...rules.allow_ports] : ports.filter((p) => rules.allow_ports!.includes(p));
    for (const pattern of rules.deny_domains ?? []) out.deny_domains.push({ level, pattern: normalizeName(pattern) });
    for (const cidr of rules.deny_cidrs ?? []) out.deny_cidrs.push({ level, cidr });
    // Only the organisation may open protected ranges; the DTO check refuses it elsewhere, and this ignores it.
    if (level === 'organisation') out.allow_protected_cidrs.push(...(rules.allow_protected_cidrs ?? []));
  }
  if (ports !== undefined) out.ports = [...new Set(ports)].sort((a, b) => a - b);
  return out;
}

/** Lower case, no trailing dot: how names are compared. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`; otherwise exact. */
export function domainMatches(pattern: string, name: string): boolean {
  const p = normalizeName(pattern);
  const n = normalizeName(name);
  if (p.startsWith('*.')) return n.endsWith(p.slice(1)) && n.length > p.length - 1;
  return p === n;
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address; undefined when it is not one. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (!version) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function blockOf(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address it carries. */
function canonicalAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

function inRanges(cidr: string, address: string): boolean {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return blockOf([cidr]).check(address, family);
}

/** The protected class an address falls in, if any (fixed ranges first, then the host's own). */
export function protectedClass(address: string, extra: ProtectedAddress[] = []): ProtectedAddress | undefined {
  const a = canonicalAddress(address);
  return [...PROTECTED_RANGES, ...extra].find((r) => inRanges(r.cidr, a));
}

const deny = (rule: string, message: string): EgressVerdict => ({ allowed: false, rule, message, addresses: [] });

/**
 * May a workload reach `host:port` at these addresses? Order: egress off, denied name, port, per
 * address (denied range, protected class), then every allow level. An address that fails is dropped;
 * the destination is refused when none is left (with the reason of the first).
 */
export function decideEgress(policy: EffectiveEgress, dest: EgressDestination, protectedExtra: ProtectedAddress[] = []): EgressVerdict {
  const host = normalizeName(dest.host);
  const target = `${host}:${dest.port}`;
  if (policy.egress !== 'allow') return deny('network.egress', `${target} refused: network egress is "${policy.egress}" in this workspace`);
  const isLiteral = isIP(host) !== 0;
  if (!isLiteral) {
    const denied = policy.deny_domains.find((d) => domainMatches(d.pattern, host));
    if (denied) return deny(`network.deny_domains "${denied.pattern}" (${denied.level})`, `${target} refused by network.deny_domains "${denied.pattern}" (${denied.level} policy)`);
  }
  if (!policy.ports.includes(dest.port)) {
    return deny('network.allow_ports', `${target} refused: port ${dest.port} is not in network.allow_ports (${policy.ports.join(', ') || 'none'})`);
  }
  if (!dest.addresses.length) return deny('dns', `${target} refused: the name does not resolve`);
  const openProtected = blockOf(policy.allow_protected_cidrs);
  let first: EgressVerdict | undefined;
  const passing: string[] = [];
  let allowRule = '';
  for (const raw of dest.addresses) {
    const address = canonicalAddress(raw);
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const verdict = ((): EgressVerdict | string => {
      const deniedRange = policy.deny_cidrs.find((d) => inRanges(d.cidr, address));
      if (deniedRange) return deny(`network.deny_cidrs "${deniedRange.cidr}" (${deniedRange.level})`, `${target} (${address}) refused by network.deny_cidrs "${deniedRange.cidr}" (${deniedRange.level} policy)`);
      const prot = protectedClass(address, protectedExtra);
      if (prot && !openProtected.check(address, family)) {
        return deny(`protected ${prot.cidr}`, `${target} (${address}) refused: ${prot.what} addresses (${prot.cidr}) are always denied unless the organisation allows them`);
      }
      const rules: string[] = [];
      for (const level of policy.allow) {
        const domain = isLiteral ? undefined : level.domains.find((d) => domainMatches(d, host));
        const cidr = domain ? undefined : level.cidrs.find((c) => inRanges(c, address));
        if (!domain && !cidr) {
          return deny(`network.allow_domains/allow_cidrs (${level.level})`, `${target} (${address}) refused: not in the ${level.level} policy's network.allow_domains or allow_cidrs`);
        }
        rules.push(domain ? `network.allow_domains "${domain}" (${level.level})` : `network.allow_cidrs "${cidr}" (${level.level})`);
      }
      return rules.length ? rules[rules.length - 1]! : 'network.egress allow (no allow lists)';
    })();
    if (typeof verdict === 'string') {
      passing.push(address);
      allowRule ||= verdict;
    } else first ??= verdict;
  }
  if (!passing.length) return first!;
  return { allowed: true, rule: allowRule, message: `${target} allowed by ${allowRule}`, addresses: passing };
}

/** Problems of one document's egress rules on their own (bad CIDRs or names); `org` may open protected ranges. */
export function egressRuleProblems(rules: EgressDestinationRules | undefined, org: boolean): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  if (!rules) return problems;
  for (const key of ['allow_cidrs', 'deny_cidrs', 'allow_protected_cidrs'] as const) {
    (rules[key] ?? []).forEach((cidr, i) => {
      if (!parseCidr(cidr)) problems.push({ field: `network.${key}.${i}`, message: `"${cidr}" is not an address or CIDR range` });
    });
  }
  for (const key of ['allow_domains', 'deny_domains'] as const) {
    (rules[key] ?? []).forEach((name, i) => {
      if (!DOMAIN_PATTERN.test(normalizeName(name))) problems.push({ field: `network.${key}.${i}`, message: `"${name}" is not a domain name or a "*.domain" wildcard` });
    });
  }
  if (!org && rules.allow_protected_cidrs !== undefined) {
    problems.push({ field: 'network.allow_protected_cidrs', message: 'only the organisation policy can open protected address ranges' });
  }
  return problems;
}

const DOMAIN_PATTERN = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Is every address of `inner` inside `outer` (for narrowing checks)? A CIDR is inside when its first and last addresses are. */
export function cidrWithin(inner: string, outers: string[]): boolean {
  const parsed = parseCidr(inner);
  if (!parsed) return false;
  const list = blockOf(outers);
  const [first, last] = rangeEnds(parsed.address, parsed.prefix, parsed.family);
  return list.check(first, parsed.family) && list.check(last, parsed.family);
}

function rangeEnds(address: string, prefix: number, family: 'ipv4' | 'ipv6'): [string, string] {
  if (family === 'ipv4') {
    const n = address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - prefix);
    const start = n - (n % size);
    const toText = (v: number): string => [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
    return [toText(start), toText(start + size - 1)];
  }
  // IPv6: the narrowing check compares the range's own address only (rare in allow lists).
  return [address, address];
}

/**
 * A job's, sandbox's or workflow job's own egress (`egress` in its request): it can only NARROW the
 * effective policy. Its lists become one more allow level (`request`) that every destination must
 * also match, and its ports are intersected with the policy's.
 */
export interface EgressNarrowing {
  allow_domains?: string[];
  allow_cidrs?: string[];
  ports?: number[];
}

/** The effective rules with a request's narrowing applied (unchanged without one). */
export function narrowEgress(policy: EffectiveEgress, narrowing?: EgressNarrowing): EffectiveEgress {
  if (!narrowing) return policy;
  const out: EffectiveEgress = { ...policy, allow: [...policy.allow] };
  if (narrowing.allow_domains !== undefined || narrowing.allow_cidrs !== undefined) {
    out.allow.push({ level: 'request', domains: (narrowing.allow_domains ?? []).map(normalizeName), cidrs: narrowing.allow_cidrs ?? [] });
  }
  if (narrowing.ports !== undefined) out.ports = policy.ports.filter((p) => narrowing.ports!.includes(p));
  return out;
}

/**
 * Entries of a narrowing that would reach beyond the effective policy (or are not names/ranges at
 * all): each named by its field, e.g. `egress.allow_domains.0: "evil.test" is outside the workspace
 * policy's network.allow_domains`. Names must sit under every level's names, ranges inside every
 * level's ranges, ports among the policy's ports; a name the policy denies is refused too.
 */
export function narrowingProblems(policy: EffectiveEgress, narrowing: EgressNarrowing): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  (narrowing.allow_domains ?? []).forEach((name, i) => {
    const field = `egress.allow_domains.${i}`;
    if (!DOMAIN_PATTERN.test(normalizeName(name))) return void problems.push({ field, message: `"${name}" is not a domain name or a "*.domain" wildcard` });
    const outside = policy.allow.find((level) => !level.domains.some((pattern) => domainCovers(pattern, name)));
    if (outside) return void problems.push({ field, message: `"${name}" is outside the ${outside.level} policy's network.allow_domains (a request can only narrow them)` });
    const denied = policy.deny_domains.find((d) => domainCovers(d.pattern, name));
    if (denied) problems.push({ field, message: `"${name}" is denied by network.deny_domains "${denied.pattern}" (${denied.level} policy)` });
  });
  (narrowing.allow_cidrs ?? []).forEach((cidr, i) => {
    const field = `egress.allow_cidrs.${i}`;
    if (!parseCidr(cidr)) return void problems.push({ field, message: `"${cidr}" is not an address or CIDR range` });
    const outside = policy.allow.find((level) => !cidrWithin(cidr, level.cidrs));
    if (outside) problems.push({ field, message: `"${cidr}" is outside the ${outside.level} policy's network.allow_cidrs (a request can only narrow them)` });
  });
  (narrowing.ports ?? []).forEach((port, i) => {
    if (!policy.ports.includes(port)) problems.push({ field: `egress.ports.${i}`, message: `port ${port} is not in the policy's network.allow_ports (${policy.ports.join(', ') || 'none'})` });
  });
  return problems;
}

/** Does `outer` cover everything `inner` can match (a name, or a `*.` wildcard under a wildcard)? */
export function domainCovers(outer: string, inner: string): boolean {
  const o = normalizeName(outer);
  const w = normalizeName(inner);
  if (w.startsWith('*.')) return o.startsWith('*.') && (w === o || w.endsWith(o.slice(1)));
  return domainMatches(o, w);
}
