import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { HostileTarEntry } from 'src/common/hostile-tar';
import { packEntries, readHostileTar } from 'src/common/hostile-tar';
import type { DrivenJobIo } from 'src/jobs/job-step-driver';
import { JobsService } from 'src/jobs/jobs.service';
import type { ArtifactManifest, ProducerInstance, ResolvedFile } from 'src/workflows/engine/artifacts';
import { addToManifest, artifactFiles, downloadLayout, resolveDownload, upstreamJobs, uploadRoot } from 'src/workflows/engine/artifacts';
import type { ArtifactSpec, InstanceStatus, JobSpec } from 'src/workflows/engine/model';
import { WorkflowInstanceStore } from 'src/workflows/runner/workflow-instance-store';
import { runnerContext } from 'src/workflows/runner/run-context';
import { SOURCE_LIMITS, WorkflowSourcesService } from 'src/workflows/sources/workflow-sources.service';

/** Bytes one download may bring into a container (several merged artifacts). */
const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;
const FINISHED: InstanceStatus[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

export interface RunRef {
  id: string;
  workspaceId: string;
  createdBy: string;
}

/** What a shim did: a line for the step's log, and a message when the step must fail. */
export interface ShimOutcome {
  line: string;
  problem?: string;
  manifest?: ArtifactManifest;
}

export interface UploadRequest {
  name: string;
  patterns: string[];
  /** `github`: paths inside the artifact are relative to the search paths' common ancestor (upload-artifact); `workspace`: kept workspace-relative (native). */
  root: 'github' | 'workspace';
  ifNoFiles: ArtifactSpec['ifNoFiles'];
}

export interface DownloadRequest {
  name?: string;
  /** Native `download: job[/name]`: only that job's instances. */
  from?: string;
  /** Directory in the container (relative to /workspace or absolute). */
  target: string;
  /** Several artifacts each into `target/<name>/` (download-artifact without name), else all into target. */
  byName: boolean;
}

/**
 * Artifacts between a run's jobs and the checkout of its source (design §3.11): collects an upload's
 * files through the job runner (stored as the job's artifacts), keeps name → files on the instance, and
 * copies artifacts or the source into a consuming job's container as a tar extracted by the job's user.
 * A system component acting for a job the runner admitted: it reads the run's instances by run and
 * workspace, and files through JobsService with the run's identity.
 */
@Injectable()
export class WorkflowArtifacts {
  constructor(
    private readonly store: WorkflowInstanceStore,
    private readonly jobs: JobsService,
    private readonly sources: WorkflowSourcesService,
  ) {}

  async upload(io: DrivenJobIo, manifest: ArtifactManifest, req: UploadRequest): Promise<ShimOutcome> {
    const collected = await io.collect(req.patterns);
    const refused = collected.refused.length ? `; refused: ${collected.refused.map((r) => `${r.name} (${r.reason})`).join(', ')}` : '';
    if (collected.error) return { line: collected.error, problem: `artifact '${req.name}': ${collected.error}` };
    if (!collected.files.length) {
      const message = `No files were found with the provided path: ${req.patterns.join(', ')}. No artifacts will be uploaded.${refused}`;
      if (req.ifNoFiles === 'error') return { line: message, problem: `artifact '${req.name}': ${message}` };
      return { line: req.ifNoFiles === 'warn' ? `warning: ${message}` : message };
    }
    const root = req.root === 'github' ? uploadRoot(req.patterns, collected.files) : '';
    const next = addToManifest(manifest, req.name, artifactFiles(root, collected.files));
    const missing = collected.missing.length ? `; no match: ${collected.missing.join(', ')}` : '';
    return { line: `artifact '${req.name}': ${collected.files.length} file(s) uploaded${missing}${refused}`, manifest: next };
  }

  async download(run: RunRef, jobs: JobSpec[], consumer: JobSpec, io: DrivenJobIo, req: DownloadRequest): Promise<ShimOutcome> {
    const upstream = req.from !== undefined ? [req.from] : upstreamJobs(jobs, consumer.id);
    const producers = await this.producers(run, upstream);
    const resolved = resolveDownload(producers, req.name, req.from);
    if (!resolved.ok) return { line: resolved.error, problem: resolved.error };
    if (!resolved.artifacts.length) return { line: `no artifacts to download${req.from !== undefined ? ` from '${req.from}' (it did not run)` : ''}` };
    let files = 0;
    let bytes = 0;
    for (const part of downloadLayout(resolved.artifacts, req.target, req.byName)) {
      const entries: HostileTarEntry[] = [];
      for (const file of part.files) {
        const data = await this.read(run, file);
        bytes += data.length;
        if (bytes > MAX_DOWNLOAD_BYTES) return { line: 'too large', problem: `the download is larger than ${MAX_DOWNLOAD_BYTES} bytes` };
        entries.push({ name: file.path, type: 'file', mode: 0o644, mtime: new Date(), data });
      }
      await io.putArchive(part.directory, await packEntries(entries));
      files += entries.length;
    }
    const names = resolved.artifacts.map((a) => `'${a.name}'`).join(', ');
    return { line: `downloaded ${names}: ${files} file(s) into ${req.target}` };
  }

  /** Extracts the run's uploaded source into `target`; without one, a no-op that says so. */
  async checkout(run: RunRef, sourceId: string | null, io: DrivenJobIo, target: string): Promise<ShimOutcome> {
    if (!sourceId) return { line: 'actions/checkout: no source directory was given with this run; nothing checked out' };
    const stream = await this.sources.open(run.workspaceId, sourceId);
    if (!stream) return { line: 'source gone', problem: `actions/checkout: the run's source ${sourceId} is no longer stored (removed by retention)` };
    // Stored re-packed after validation; parsed again so only regular files and directories ever reach the container.
    const tree = await readHostileTar(stream, { maxEntries: SOURCE_LIMITS.maxEntries, maxFileBytes: SOURCE_LIMITS.maxBytes, maxTotalBytes: SOURCE_LIMITS.maxBytes }, { directories: 'keep', absoluteNames: 'refuse' });
    await io.putArchive(target, await packEntries(tree.entries));
    const files = tree.entries.filter((e) => e.type === 'file').length;
    return { line: `actions/checkout: ${files} file(s) of the run's source into ${target}` };
  }

  /** Finished instances of the given jobs, in that job order then matrix order (the merge order). */
  private async producers(run: RunRef, jobIds: string[]): Promise<ProducerInstance[]> {
    if (!jobIds.length) return [];
    const rows = await this.store.producers({ runId: run.id, workspaceId: run.workspaceId }, jobIds, FINISHED);
    rows.sort((a, b) => jobIds.indexOf(a.workflowJob) - jobIds.indexOf(b.workflowJob) || a.matrixIndex - b.matrixIndex);
    return rows.map((r) => ({ workflowJob: r.workflowJob, jobRef: r.jobId, skipped: r.status === 'skipped', artifacts: r.stepState?.artifacts ?? {} }));
  }

  private async read(run: RunRef, file: ResolvedFile): Promise<Buffer> {
    const { body } = await this.jobs.openArtifact(runnerContext(run), file.jobRef, file.file);
    return readAll(body);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
