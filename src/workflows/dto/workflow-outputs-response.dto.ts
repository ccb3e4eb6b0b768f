import type { ArtifactResponseDto } from 'src/jobs/dto/job-response.dto';
import { JobLogsResponseDto } from 'src/jobs/dto/job-response.dto';

export class WorkflowLogsResponseDto extends JobLogsResponseDto {
  /** The job that ran this instance attempt (follow its log stream with getJobLogs). */
  job_id!: string;
}

export class WorkflowInstanceArtifactsResponseDto {
  instance!: string;
  display_name!: string;
  job_id!: string;
  /** The files the instance's job collected. */
  artifacts!: ArtifactResponseDto[];
  /** Named artifacts (actions/upload-artifact) → the file names they are made of. */
  named!: Record<string, string[]>;
}

export class WorkflowArtifactsResponseDto {
  items!: WorkflowInstanceArtifactsResponseDto[];
}

export class WorkflowSourceResponseDto {
  /** Pass as source_id when submitting the run. */
  source_id!: string;
  size_bytes!: number;
  sha256!: string;
  files!: number;
}
