import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { COLLECT_SCRIPT, contentTypeFor, DEFAULT_ARTIFACT_LIMITS, ArtifactCollection } from 'src/jobs/artifact-archive';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import type { RunState } from 'src/jobs/job-run';
import type { CollectedFiles } from 'src/jobs/job-step-driver';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { ARTIFACT_STORAGE, ArtifactStorage } from 'src/storage/artifact-storage.port';

/** Extracts the tar on stdin into $1 (created if needed) without restoring owners: the files are the job user's. */
const EXTRACT_SCRIPT = 'mkdir -p -- "$1" && cd -- "$1" && exec tar -x -o -f -';

/**
 * Files in and out of a running job's container: artifacts collected (tar inside the container, parsed
 * as hostile input, stored; the rows are saved with the terminal state by JobFinisher) and archives a
 * step driver extracts into it.
 */
@Injectable()
export class JobArtifactCollector {
  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @Inject(ARTIFACT_STORAGE) private readonly storage: ArtifactStorage,
  ) {}

  async collectArtifacts(state: RunState, patterns: string[]): Promise<void> {
    const collected = await this.collectFiles(state, patterns);
    if (collected.error) state.facts.artifactError = collected.error;
  }

  /**
   * Tars the matches of `patterns` inside the container (COLLECT_SCRIPT), parses the stream as hostile
   * input and stores each file; the rows are saved with the job's terminal state. A name collected
   * again (a later upload of the same path) replaces the earlier file.
   */
  async collectFiles(state: RunState, patterns: string[]): Promise<CollectedFiles> {
    const { job } = state;
    // Bounded (artifact-archive.ts): a cap hit stops the exec and fails the collection naming the limit.
    const collection = new ArtifactCollection(DEFAULT_ARTIFACT_LIMITS, state.controller.signal);
    const exec = await this.runtime.exec(state.containerId!, {
      command: ['/bin/sh', '-c', COLLECT_SCRIPT, 'orcaops-collect', ...patterns],
      cwd: '/workspace',
      timeoutMs: 120_000,
      signal: collection.signal,
      onOutput: collection.onOutput,
    });
    const { result: parsed, messages } = await collection.finish();
    if (collection.limitError) {
      state.writer.system(`artifacts: ${collection.limitError}`);
      return { files: [], missing: [], refused: [], error: collection.limitError };
    }
    if (messages) state.writer.system(`artifacts: ${messages.split('\n').join('; ')}`);
    const missing = messages
      .split('\n')
      .filter((l) => l.startsWith('no match: '))
      .map((l) => l.slice('no match: '.length));
    const { files, rejected, rejectedCount } = parsed;
    if (exec.exitCode === 3) return { files: [], missing, refused: [] };
    // Directory entries are expected (a directory path): their files are kept, the entry itself is not news.
    const refused = rejected.filter((r) => r.reason !== 'directory');
    for (const r of refused) state.writer.system(`artifact refused: ${r.name} (${r.reason})`);
    if (rejectedCount > rejected.length) state.writer.system(`artifacts: ${rejectedCount - rejected.length} more entries refused (not listed)`);
    for (const file of files) {
      const id = randomUUID();
      const key = `${job.workspaceId}/${job.id}/${id}`;
      const stored = await this.storage.put(key, file.data).catch((error: unknown) => {
        if (error instanceof OrcaOpsError && error.code === 'insufficient_storage') return undefined;
        throw error;
      });
      if (!stored) {
        const message = `artifact ${file.name} was not stored: the server's artifact storage is full`;
        return { files: files.map((f) => f.name), missing, refused, error: message };
      }
      const artifact = Object.assign(new JobArtifactEntity(), {
        id,
        workspaceId: job.workspaceId,
        jobId: job.id,
        name: file.name,
        sizeBytes: stored.sizeBytes,
        sha256: stored.sha256,
        contentType: contentTypeFor(file.name),
        storageKey: key,
      });
      const earlier = state.artifacts.findIndex((a) => a.name === file.name);
      if (earlier >= 0) state.artifacts[earlier] = artifact;
      else state.artifacts.push(artifact);
    }
    const error = exec.exitCode !== 0 && files.length === 0 ? `artifact collection failed (tar exited ${exec.exitCode ?? 'without a code'})` : undefined;
    return { files: files.map((f) => f.name), missing, refused, ...(error ? { error } : {}) };
  }

  /** Extracts a tar the driver built into a directory of the container, as the job's user (never the archive API: /workspace is a tmpfs). */
  async extractInto(state: RunState, directory: string, tar: Buffer): Promise<void> {
    const stderr: Buffer[] = [];
    const exec = await this.runtime.exec(state.containerId!, {
      command: ['/bin/sh', '-c', EXTRACT_SCRIPT, 'orcaops-extract', directory],
      cwd: '/workspace',
      stdin: tar,
      timeoutMs: 120_000,
      signal: state.controller.signal,
      onOutput: (stream, chunk) => stream === 'stderr' && stderr.push(chunk),
    });
    if (exec.exitCode !== 0) {
      const message = Buffer.concat(stderr).toString('utf8').trim().split('\n').pop();
      throw new Error(`could not extract into ${directory}: ${message || `tar exited ${exec.exitCode ?? 'without a code'}`}`);
    }
  }
}
