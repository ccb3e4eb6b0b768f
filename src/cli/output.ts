/** All CLI rendering in one place: human tables or --json. Data goes to stdout, diagnostics to stderr. */
export interface OutputOptions {
  json: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '-';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
    return JSON.stringify(v) ?? '-';
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

export function printRecord(record: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [key, value] of Object.entries(record)) {
    const shown =
      typeof value === 'object' && value !== null ? JSON.stringify(value) : String((value as string | number | undefined) ?? '-');
    process.stdout.write(`${key.padEnd(width)}  ${shown}\n`);
  }
}

/** Renders one result: JSON as is, or a table/record for people. */
export function render(
  opts: OutputOptions,
  value: unknown,
  human?: { columns?: string[]; items?: (v: unknown) => Array<Record<string, unknown>> },
): void {
  if (opts.json) return printJson(value);
  if (human?.columns) {
    const items = human.items ? human.items(value) : (value as { items: Array<Record<string, unknown>> }).items;
    return printTable(items, human.columns);
  }
  printRecord(value as Record<string, unknown>);
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** 1.9 MB, 161.0 MB: sizes for people (JSON keeps bytes). */
export function formatBytes(bytes: number | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

/** The short image/container id people know from `docker images`. */
export function shortId(id: string | undefined): string | undefined {
  return id?.replace(/^sha256:/, '').slice(0, 12);
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
