/**
 * Named artifacts between jobs (design §3.11): where an upload's files are rooted, which artifacts a
 * download brings in and how matrix producers merge. Pure: the step driver does the I/O.
 */

/** One file of a named artifact: the producer job's stored file, and its path inside the artifact. */
export interface ArtifactFile {
  /** Name of the file among the producing OrcaOps job's artifacts (workspace-relative path). */
  file: string;
  /** Path inside the artifact, where a download writes it (relative to the target directory). */
  path: string;
}

/** name → files, kept on the producing instance (its step state). */
export type ArtifactManifest = Record<string, ArtifactFile[]>;

/** What one finished instance of a needed job left. */
export interface ProducerInstance {
  workflowJob: string;
  /** The OrcaOps job of its last attempt (where the files are stored); null when it never ran. */
  jobRef: string | null;
  skipped: boolean;
  artifacts: ArtifactManifest;
}

export interface ResolvedFile extends ArtifactFile {
  jobRef: string;
}

export interface ResolvedArtifact {
  name: string;
  files: ResolvedFile[];
}

export type Resolution = { ok: true; artifacts: ResolvedArtifact[] } | { ok: false; error: string };

const GLOB = /[*?[]/;

/** `build` or `build/dist` (native `download:` entries). */
export function parseDownloadEntry(entry: string): { job: string; name?: string } {
  const slash = entry.indexOf('/');
  if (slash < 0) return { job: entry.trim() };
  const name = entry.slice(slash + 1).trim();
  return { job: entry.slice(0, slash).trim(), ...(name ? { name } : {}) };
}

function segments(pattern: string): string[] {
  return pattern
    .trim()
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .split('/')
    .filter((s) => s && s !== '.');
}

/**
 * The directory an `actions/upload-artifact` upload is rooted at, as on GitHub: the least common
 * ancestor of the search paths (a glob's fixed prefix, a directory itself, a file's parent). `names` are
 * the collected files (workspace-relative, as the collector stores them), used to tell a directory path
 * from a file path.
 */
export function uploadRoot(patterns: string[], names: string[]): string {
  const bases = patterns
    .map(segments)
    .filter((s) => s.length > 0)
    .map((parts) => {
      const glob = parts.findIndex((p) => GLOB.test(p));
      if (glob >= 0) return parts.slice(0, glob);
      const joined = parts.join('/');
      return names.some((n) => n.startsWith(`${joined}/`)) ? parts : parts.slice(0, -1);
    });
  if (!bases.length) return '';
  const common: string[] = [];
  for (let i = 0; ; i++) {
    const part = bases[0]![i];
    if (part === undefined || bases.some((b) => b[i] !== part)) break;
    common.push(part);
  }
  return common.join('/');
}

/** The files of one upload, with their paths inside the artifact (relative to `root`). */
export function artifactFiles(root: string, names: string[]): ArtifactFile[] {
  const prefix = root ? `${root}/` : '';
  return names.map((file) => ({ file, path: prefix && file.startsWith(prefix) ? file.slice(prefix.length) : file }));
}

/** Adds (or extends) an artifact in a manifest; a path uploaded again under the same name keeps its last file. */
export function addToManifest(manifest: ArtifactManifest, name: string, files: ArtifactFile[]): ArtifactManifest {
  const byPath = new Map((manifest[name] ?? []).map((f) => [f.path, f]));
  for (const f of files) byPath.set(f.path, f);
  return { ...manifest, [name]: [...byPath.values()] };
}

/** GitHub's rule for artifact names (they also name directories): no path separators or special characters. */
export function artifactNameProblem(name: string): string | undefined {
  if (!name.trim()) return 'an artifact name cannot be empty';
  if (/[":<>|*?\\/\r\n]/.test(name) || name === '.' || name === '..') return `The artifact name '${name}' is not valid: it cannot contain ", :, <, >, |, *, ?, \\, / or line breaks`;
  return undefined;
}

/** Files of several producers merged in order: a later producer's file replaces an earlier one at the same path. */
export function mergeFiles(sources: ResolvedFile[][]): ResolvedFile[] {
  const byPath = new Map<string, ResolvedFile>();
  for (const files of sources) for (const f of files) byPath.set(f.path, f);
  return [...byPath.values()];
}

/** Jobs whose instances a job can read artifacts from: everything it needs, directly or transitively, in file order. */
export function upstreamJobs(jobs: ReadonlyArray<{ id: string; needs: string[] }>, jobId: string): string[] {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const seen = new Set<string>();
  const visit = (id: string): void => {
    for (const need of byId.get(id)?.needs ?? []) {
      if (seen.has(need)) continue;
      seen.add(need);
      visit(need);
    }
  };
  visit(jobId);
  return jobs.filter((j) => seen.has(j.id)).map((j) => j.id);
}

/**
 * The artifacts a download brings in. `producers` are the finished instances it may read, in job then
 * matrix order (that order decides merges). With a name: that artifact, merged across producers, or an
 * error naming what exists; without: every artifact they uploaded. `from` names the job a native
 * download reads, for the messages (and so that a skipped producer is not an error).
 */
export function resolveDownload(producers: ProducerInstance[], name: string | undefined, from?: string): Resolution {
  const ran = producers.filter((p) => !p.skipped && p.jobRef);
  // Nothing it could read from ran (skipped producers, a job that is `if: always()` after them): not an error.
  if (!ran.length) return { ok: true, artifacts: [] };
  const names = [...new Set(ran.flatMap((p) => Object.keys(p.artifacts)))];
  const wanted = name === undefined ? names : names.filter((n) => n === name);
  if (name !== undefined && !wanted.length) {
    const where = from !== undefined ? `job '${from}'` : 'the jobs this job needs';
    const known = names.length ? ` (uploaded: ${names.map((n) => `'${n}'`).join(', ')})` : ' (none uploaded any)';
    return { ok: false, error: `Artifact '${name}' not found: ${where} did not upload it${known}` };
  }
  const artifacts = wanted.map((n) => ({
    name: n,
    files: mergeFiles(ran.map((p) => (p.artifacts[n] ?? []).map((f) => ({ ...f, jobRef: p.jobRef! })))),
  }));
  return { ok: true, artifacts };
}

/** Where each artifact's files go: one artifact → `target`; several → `target/<name>/` unless merged. */
export function downloadLayout(artifacts: ResolvedArtifact[], target: string, byName: boolean): Array<{ directory: string; files: ResolvedFile[] }> {
  if (!byName) return [{ directory: target, files: mergeFiles(artifacts.map((a) => a.files)) }];
  return artifacts.map((a) => ({ directory: `${target.replace(/\/+$/, '')}/${a.name}`, files: a.files }));
}
