import { PageQueryDto } from 'src/common/pagination/page-query.dto';

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
