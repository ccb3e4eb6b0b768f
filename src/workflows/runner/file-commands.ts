/**
 * $GITHUB_OUTPUT / $GITHUB_ENV file format (design §3.10, actions/runner FileCommandManager):
 * `NAME=VALUE` lines and `NAME<<DELIM` heredocs; empty lines skipped; a later name overrides.
 */
export type FileCommandResult = { ok: true; values: Record<string, string> } | { ok: false; error: string };

export function parseFileCommands(text: string): FileCommandResult {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  // A file ending in a newline has an empty last "line", not a value.
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      const name = line.slice(0, eq);
      if (!name) return { ok: false, error: `Invalid format '${line}': the name is empty` };
      values[name] = line.slice(eq + 1);
      continue;
    }
    if (heredoc >= 0) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (!name) return { ok: false, error: `Invalid format '${line}': the name is empty` };
      if (!delimiter) return { ok: false, error: `Invalid format '${line}': the delimiter is empty` };
      const body: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        body.push(lines[i]!);
      }
      if (!closed) return { ok: false, error: `Matching delimiter not found '${delimiter}'` };
      values[name] = body.join('\n');
      continue;
    }
    return { ok: false, error: `Invalid format '${line}'` };
  }
  return { ok: true, values };
}

/** $GITHUB_PATH: one directory per line. */
export function parsePathFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
