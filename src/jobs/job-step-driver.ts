import { Injectable } from '@nestjs/common';
import type { JobStepSpec, StepResult } from 'src/jobs/job-model';

/** Files taken from the container by DrivenJobIo.collect, stored as the job's artifacts. */
export interface CollectedFiles {
  /** Artifact names (workspace-relative paths) of the files kept. */
  files: string[];
  /** Patterns that matched nothing. */
  missing: string[];
  /** Entries refused (symlinks, hard links, devices, paths outside /workspace, over a cap). */
  refused: Array<{ name: string; reason: string }>;
  /** Set when collection itself failed (tar error with nothing collected). */
  error?: string;
}

/** What a driver may do inside the job's container between steps. */
export interface DrivenJobIo {
  /**
   * Runs argv in the job container (as the job's user) and returns its stdout; never throws for a non-zero
   * exit. stdout is bounded (default DRIVER_EXEC_MAX_BYTES): past `maxBytes` the exec is stopped and
   * `truncated` is set; so is time (default 30 s).
   */
  exec(command: string[], timeoutMs?: number, maxBytes?: number): Promise<{ exitCode: number | null; stdout: string; truncated?: boolean }>;
  /**
   * Collects the files matching glob patterns (expanded in the container, relative to /workspace) as the
   * job's artifacts, stored with the job when it ends; the tar is parsed with the hostile-tar rules.
   * A path collected again replaces the earlier file.
   */
  collect(patterns: string[]): Promise<CollectedFiles>;
  /**
   * Extracts a tar into `directory` (created if missing; relative to /workspace) as the job's user, so
   * the files are the job's own. The caller builds the tar: regular files and directories only.
   */
  putArchive(directory: string, tar: Buffer): Promise<void>;
}

export interface DrivenJob {
  id: string;
  workspaceId: string;
}

/**
 * Supplies a job's steps one at a time (workflows: `if`, expressions and `steps.*` outputs are only
 * known once earlier steps ran). The job runner keeps everything else: container, limits, logs,
 * timeouts, cancel, terminal state. Drivers are looked up by name, so a job run by any server finds one.
 */
export interface JobStepDriver {
  /** The step to run at `index`, or null to skip it. `failed`: an earlier step failed (after continue-on-error). */
  before(job: DrivenJob, index: number, failed: boolean, io: DrivenJobIo): Promise<JobStepSpec | null>;
  /** After a step (also a failed one): may turn a succeeded step into a failure (returns the message). */
  after(job: DrivenJob, index: number, result: StepResult, io: DrivenJobIo): Promise<string | undefined>;
  /** After the last step, before the container goes (job outputs, artifacts); a returned message fails the job. */
  finish(job: DrivenJob, steps: StepResult[], io: DrivenJobIo): Promise<string | undefined>;
}

/** Name → driver; feature modules register theirs at init (the jobs module depends on none of them). */
@Injectable()
export class JobStepDrivers {
  private readonly drivers = new Map<string, JobStepDriver>();

  register(name: string, driver: JobStepDriver): void {
    this.drivers.set(name, driver);
  }

  get(name: string): JobStepDriver | undefined {
    return this.drivers.get(name);
  }
}
