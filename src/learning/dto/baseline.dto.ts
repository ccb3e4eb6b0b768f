import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from 'src/common/pagination/page-query.dto';
import { ANOMALY_STATES, AnomalyState } from 'src/learning/entities/run-anomaly.entity';

export class ListBaselinesQueryDto extends PageQueryDto {}

/** Rolling statistics of one measure over the successful runs (DDSketch quantiles, 1 % relative accuracy). */
export class MeasureSummaryDto {
  /** Successful runs that reported this measure. */
  samples!: number;
  /** Exponentially weighted mean (the newest run weighs 0.2). */
  ewma!: number | null;
  p50!: number | null;
  p90!: number | null;
  p99!: number | null;
}

/** What "normal" is for one recurring run (a fingerprint) in this workspace. */
export class BaselineResponseDto {
  /** The run fingerprint (docs/run-records.md#fingerprint). */
  fingerprint!: string;
  /** Finished runs counted: succeeded + failed (timed out and failed alike); cancelled and interrupted runs are not counted. */
  runs!: number;
  succeeded!: number;
  failed!: number;
  /** succeeded / runs since the baseline began. */
  success_rate!: number | null;
  /** Exponentially weighted success rate: recent runs weigh more. */
  recent_success_rate!: number | null;
  /** True once `established_after` runs succeeded: only then are its numbers used to judge runs. */
  established!: boolean;
  established_after!: number;
  /** Run time after the image pull, ms. */
  duration_ms!: MeasureSummaryDto;
  memory_peak_bytes!: MeasureSummaryDto;
  cpu_seconds!: MeasureSummaryDto;
  last_run_at!: string | null;
  /** When this baseline began (its first run, or the first after a reset). */
  since!: string;
}

export class BaselineListResponseDto {
  items!: BaselineResponseDto[];
  next_cursor!: string | null;
}

export class ListAnomaliesQueryDto extends PageQueryDto {
  /** Only anomalies in this state (open, acknowledged, resolved). */
  @IsOptional() @IsIn([...ANOMALY_STATES])
  state?: AnomalyState;
}

export class SetAnomalyStateDto {
  /** acknowledged (seen, being looked at), resolved, or open again. */
  @IsIn([...ANOMALY_STATES])
  state!: AnomalyState;
}

/** What was measured and what the baseline said when the run was judged. */
export class AnomalyEvidenceDto {
  /** The run's value: duration in ms or peak memory in bytes. */
  value!: number;
  p50!: number;
  p99!: number;
  /** The value above which the run counted: max(p99 × 1.5, p50 × 3, p50 + 1 s or 32 MiB). */
  threshold!: number;
  /** Successful runs the baseline held then. */
  baseline_runs!: number;
}

/** A finished run far outside its fingerprint's baseline (docs/insights.md#anomalies). */
export class AnomalyResponseDto {
  id!: string;
  fingerprint!: string;
  job_id!: string | null;
  /** duration | memory */
  kind!: string;
  /** warning | critical (at twice the threshold) */
  severity!: string;
  state!: AnomalyState;
  evidence!: AnomalyEvidenceDto;
  detected_at!: string;
  state_changed_at!: string | null;
}

export class AnomalyListResponseDto {
  items!: AnomalyResponseDto[];
  next_cursor!: string | null;
}
