import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { action, outputOptions } from 'src/cli/command-context';
import { render } from 'src/cli/output';

interface Measure {
  p50: number | null;
  p99: number | null;
}
interface Baseline {
  fingerprint: string;
  runs: number;
  success_rate: number | null;
  established: boolean;
  duration_ms: Measure;
  memory_peak_bytes: Measure;
  cpu_seconds: Measure;
  last_run_at: string | null;
}

const COLUMNS = ['fingerprint', 'runs', 'success', 'duration_p50', 'duration_p99', 'memory_p99', 'established', 'last_run_at'];
const MIB = 1024 * 1024;

/** One table row for people: short fingerprint, percentages, seconds and MiB. */
function row(b: Baseline): Record<string, unknown> {
  const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)}s`);
  return {
    fingerprint: b.fingerprint.slice(0, 12),
    runs: b.runs,
    success: b.success_rate === null ? '-' : `${Math.round(b.success_rate * 100)}%`,
    duration_p50: seconds(b.duration_ms.p50),
    duration_p99: seconds(b.duration_ms.p99),
    memory_p99: b.memory_peak_bytes.p99 === null ? '-' : `${Math.round(b.memory_peak_bytes.p99 / MIB)} MiB`,
    established: b.established ? 'yes' : 'no',
    last_run_at: b.last_run_at,
  };
}

/** `orcaops baselines`: what is normal for each recurring job (docs/insights.md#baselines). */
export function baselinesCommand(): Command {
  const cmd = new Command('baselines').description('What is normal for recurring jobs: success rate, duration, memory and CPU per fingerprint');
  cmd
    .command('list', { isDefault: true })
    .description('Baselines, most recently updated first')
    .option('--limit <n>', 'per page (max 200)', (v) => Number(v), 50)
    .option('--cursor <cursor>', 'next_cursor of a previous page')
    .action(action(async (o: { limit: number; cursor?: string }, c: Command) => {
      const query = new URLSearchParams({ limit: String(o.limit), ...(o.cursor ? { cursor: o.cursor } : {}) });
      const page = await new ApiClient().request<{ items: Baseline[]; next_cursor: string | null }>('GET', `/v1/insights/baselines?${query.toString()}`);
      render(outputOptions(c), page, { columns: COLUMNS, items: () => page.items.map(row) });
      if (!outputOptions(c).json && page.next_cursor) process.stderr.write(`more: --cursor ${page.next_cursor}\n`);
    }));
  cmd
    .command('show <fingerprint>')
    .description("One fingerprint's baseline (a job's record.fingerprint)")
    .action(action(async (fingerprint: string, _o: unknown, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/insights/baselines/${encodeURIComponent(fingerprint)}`));
    }));
  cmd
    .command('reset <fingerprint>')
    .description('Forget a baseline (workspace admins; audited): the next run starts a new one')
    .action(action(async (fingerprint: string, _o: unknown, c: Command) => {
      await new ApiClient().request('DELETE', `/v1/insights/baselines/${encodeURIComponent(fingerprint)}`);
      render(outputOptions(c), { fingerprint, reset: true });
    }));
  return cmd;
}

const ANOMALY_COLUMNS = ['id', 'detected_at', 'kind', 'severity', 'state', 'value', 'p99', 'job_id'];

/** `orcaops anomalies`: runs far outside their baseline; admins acknowledge or resolve them. */
export function anomaliesCommand(): Command {
  const cmd = new Command('anomalies').description('Runs far outside their baseline (duration, memory), newest first');
  cmd
    .command('list', { isDefault: true })
    .description('Anomalies, newest first')
    .option('--state <state>', 'open | acknowledged | resolved')
    .option('--limit <n>', 'per page (max 200)', (v) => Number(v), 50)
    .option('--cursor <cursor>', 'next_cursor of a previous page')
    .action(action(async (o: { state?: string; limit: number; cursor?: string }, c: Command) => {
      const query = new URLSearchParams({ limit: String(o.limit), ...(o.state ? { state: o.state } : {}), ...(o.cursor ? { cursor: o.cursor } : {}) });
      const page = await new ApiClient().request<{ items: Array<Record<string, unknown> & { evidence: Record<string, number> }>; next_cursor: string | null }>(
        'GET',
        `/v1/insights/anomalies?${query.toString()}`,
      );
      render(outputOptions(c), page, { columns: ANOMALY_COLUMNS, items: () => page.items.map((a) => ({ ...a, value: a.evidence.value, p99: a.evidence.p99 })) });
      if (!outputOptions(c).json && page.next_cursor) process.stderr.write(`more: --cursor ${page.next_cursor}\n`);
    }));
  for (const [name, state, what] of [
    ['ack', 'acknowledged', 'Acknowledge an anomaly (workspace admins; audited)'],
    ['resolve', 'resolved', 'Resolve an anomaly (workspace admins; audited)'],
    ['reopen', 'open', 'Open an anomaly again (workspace admins; audited)'],
  ] as const) {
    cmd
      .command(`${name} <id>`)
      .description(what)
      .action(action(async (id: string, _o: unknown, c: Command) => {
        render(outputOptions(c), await new ApiClient().request('PATCH', `/v1/insights/anomalies/${encodeURIComponent(id)}`, { state }));
      }));
  }
  return cmd;
}
