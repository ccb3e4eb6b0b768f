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
  const cell = (v: unknown): string =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number);
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
