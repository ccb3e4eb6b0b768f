import type { ContainerHealthcheck } from 'src/runtime/container-runtime.port';
import type { HealthcheckSpec, ServiceSpec } from 'src/workflows/engine/model';

/** `10s`, `1m30s`, `500ms`, `2h`; a bare number is seconds (docker run's --health-* accept units). */
export function parseDockerDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    total += Number(m[1]) * unit;
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

/** Splits docker-run style options into words, honouring single and double quotes. */
export function splitOptions(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let started = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started || current) words.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
    }
  }
  if (started || current) words.push(current);
  return words;
}

export interface ServiceRunOptions {
  healthcheck?: ContainerHealthcheck;
  /** Flags the runner does not apply (reported as a note, not silently dropped). */
  ignored: string[];
}

const DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };

/** The health check of a service: `--health-*` options or the native `healthcheck:` key (design §2.6). */
export function serviceRunOptions(service: Pick<ServiceSpec, 'options' | 'healthcheck'>, evaluatedOptions?: string): ServiceRunOptions {
  const words = splitOptions(evaluatedOptions ?? service.options ?? '');
  const ignored: string[] = [];
  const health: Partial<Record<'cmd' | 'interval' | 'timeout' | 'retries' | 'start-period', string>> = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const eq = word.indexOf('=');
    const flag = eq > 0 ? word.slice(0, eq) : word;
    const inline = eq > 0 ? word.slice(eq + 1) : undefined;
    const match = /^--health-(cmd|interval|timeout|retries|start-period)$/.exec(flag);
    if (match) {
      health[match[1] as keyof typeof health] = inline ?? words[++i] ?? '';
      continue;
    }
    if (flag.startsWith('-')) ignored.push(flag);
  }
  if (health.cmd) {
    const ms = (v: string | undefined, fallback: number): number => (v ? (parseDockerDuration(v) ?? fallback) : fallback);
    return {
      healthcheck: {
        test: ['CMD-SHELL', health.cmd],
        intervalMs: ms(health.interval, DEFAULTS.intervalMs),
        timeoutMs: ms(health.timeout, DEFAULTS.timeoutMs),
        retries: health.retries ? Math.max(1, Number(health.retries) || DEFAULTS.retries) : DEFAULTS.retries,
        startPeriodMs: ms(health['start-period'], DEFAULTS.startPeriodMs),
      },
      ignored,
    };
  }
  if (service.healthcheck && typeof service.healthcheck === 'object') return { healthcheck: nativeHealthcheck(service.healthcheck), ignored };
  return { ignored };
}

function nativeHealthcheck(h: HealthcheckSpec): ContainerHealthcheck {
  return {
    test: Array.isArray(h.cmd) ? ['CMD', ...h.cmd] : ['CMD-SHELL', h.cmd],
    intervalMs: h.intervalMs ?? DEFAULTS.intervalMs,
    timeoutMs: h.timeoutMs ?? DEFAULTS.timeoutMs,
    retries: h.retries ?? DEFAULTS.retries,
    startPeriodMs: h.startPeriodMs ?? DEFAULTS.startPeriodMs,
  };
}

/** Container ports declared by `ports:` (`8080:80/tcp` → 80, `6379` → 6379); udp ones are not probed. */
export function declaredTcpPorts(ports: string[]): number[] {
  const result: number[] = [];
  for (const entry of ports) {
    const [spec, proto] = String(entry).split('/');
    if (proto && proto !== 'tcp') continue;
    const port = Number(spec!.split(':').pop());
    if (Number.isInteger(port) && port > 0 && port < 65536) result.push(port);
  }
  return [...new Set(result)];
}
