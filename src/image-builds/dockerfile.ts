/**
 * The base images of a Dockerfile, found before anything is built (pure, no I/O): `FROM` lines and
 * `COPY --from=<image>`, with stage names and indexes told apart from images. Every image found is
 * checked against the policy and made usable by the ImagePuller, then written back pinned
 * (rewriteBaseImages), so the engine builds from exactly what this workspace may use.
 */

export interface BaseImageUse {
  /** 1-based line of the instruction. */
  line: number;
  /** The instruction as written (continuations joined), for messages. */
  instruction: string;
  image: string;
}

export interface DockerfilePlan {
  images: BaseImageUse[];
  /** Why the Dockerfile cannot be built as is (before any engine call). */
  problems: string[];
}

interface Instruction {
  /** 0-based index of the first physical line and the number of lines it spans. */
  start: number;
  span: number;
  keyword: string;
  args: string;
}

/** Logical instructions: comments and blank lines skipped, `\` continuations joined. */
function instructions(text: string): { lines: string[]; list: Instruction[] } {
  const lines = text.split(/\r?\n/);
  const list: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim();
    if (!first || first.startsWith('#')) continue;
    let joined = '';
    let j = i;
    for (; j < lines.length; j++) {
      const raw = lines[j]!.trim();
      if (j > i && raw.startsWith('#')) continue;
      if (raw.endsWith('\\')) joined += `${raw.slice(0, -1)} `;
      else {
        joined += raw;
        break;
      }
    }
    const match = /^(\S+)\s*(.*)$/s.exec(joined.trim());
    if (match) list.push({ start: i, span: Math.min(j, lines.length - 1) - i + 1, keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
    i = j;
  }
  return { lines, list };
}

function fromParts(args: string): { flags: string[]; image: string | undefined; alias: string | undefined } {
  const words = args.split(/\s+/).filter(Boolean);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const alias = rest.length >= 3 && rest[1]!.toUpperCase() === 'AS' ? rest[2] : undefined;
  return { flags, image: rest[0], alias };
}

function copyFrom(args: string): string | undefined {
  return /(?:^|\s)--from=(\S+)/.exec(args)?.[1];
}

/** Every base image of the Dockerfile, and why it cannot be built (variables in FROM, no FROM, ...). */
export function planDockerfile(text: string): DockerfilePlan {
  const { list } = instructions(text);
  const images: BaseImageUse[] = [];
  const problems: string[] = [];
  const stages: string[] = [];
  const show = (ins: Instruction): string => `${ins.keyword} ${ins.args}`.slice(0, 200);
  for (const ins of list) {
    if (ins.keyword === 'FROM') {
      const { image, alias } = fromParts(ins.args);
      if (!image) problems.push(`line ${ins.start + 1}: "${show(ins)}" names no image`);
      else if (image.includes('$')) problems.push(`line ${ins.start + 1}: "${show(ins)}" uses a variable; name the base image literally`);
      else if (image.toLowerCase() !== 'scratch' && !stages.includes(image.toLowerCase())) images.push({ line: ins.start + 1, instruction: show(ins), image });
      stages.push((alias ?? `#${stages.length}`).toLowerCase());
    } else if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
      const from = copyFrom(ins.args);
      if (!from) continue;
      if (from.includes('$')) problems.push(`line ${ins.start + 1}: "${show(ins)}" uses a variable in --from`);
      else if (!/^\d+$/.test(from) && !stages.includes(from.toLowerCase())) images.push({ line: ins.start + 1, instruction: show(ins), image: from });
    } else if (ins.keyword === 'RUN' && /(?:^|\s)--mount=/.test(ins.args)) {
      problems.push(`line ${ins.start + 1}: RUN --mount is not supported (builds get no host or cache mounts)`);
    }
  }
  if (!list.some((i) => i.keyword === 'FROM')) problems.push('the Dockerfile has no FROM instruction');
  return { images, problems };
}

/**
 * The Dockerfile with each base image replaced by `resolved.get(image)` (a pinned reference). The
 * instruction keeps its first line; lines it continued onto become blank, so line numbers stay.
 */
export function rewriteBaseImages(text: string, resolved: ReadonlyMap<string, string>): string {
  const { lines, list } = instructions(text);
  const stages: string[] = [];
  for (const ins of list) {
    let rewritten: string | undefined;
    if (ins.keyword === 'FROM') {
      const { flags, image, alias } = fromParts(ins.args);
      const pinned = image && !stages.includes(image.toLowerCase()) ? resolved.get(image) : undefined;
      if (pinned) rewritten = ['FROM', ...flags, pinned, ...(alias ? ['AS', alias] : [])].join(' ');
      stages.push((alias ?? `#${stages.length}`).toLowerCase());
    } else if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
      const from = copyFrom(ins.args);
      const pinned = from && !stages.includes(from.toLowerCase()) ? resolved.get(from) : undefined;
      if (pinned) rewritten = `${ins.keyword} ${ins.args.replace(`--from=${from}`, `--from=${pinned}`)}`;
    }
    if (rewritten === undefined) continue;
    lines[ins.start] = rewritten;
    for (let k = 1; k < ins.span; k++) lines[ins.start + k] = '';
  }
  return lines.join('\n');
}
