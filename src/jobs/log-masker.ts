import { Injectable } from '@nestjs/common';
import { SecretMasker } from 'src/common/masking/secret-masker';
import { SecretsService } from 'src/secrets/secrets.service';

/**
 * The seam where secrets leave a job's output before anything is derived from it (summaries today).
 * Everything a summary is made of (the excerpt, the summary line, the suggestion) is computed from what
 * the job's `mask` returns, so masking is this one call. The job's output is stored masked already
 * (JobLogWriter.mask); this masks again, for what the writer could not: output stored before the job's
 * secrets were opened, or held back at a boundary the writer released as is.
 */
export const LOG_MASKER = Symbol('LOG_MASKER');

export interface MaskableJob {
  workspaceId: string;
  spec: { env?: Record<string, string>; secrets?: Record<string, string>; internal?: { mask_secrets?: string[] } };
}

export interface LogMasker {
  /** The masking of one job's output (secrets opened once per summary, not per run of output). */
  forJob(job: MaskableJob): Promise<(log: Buffer) => Buffer>;
}

const SECRET_NAME = /(TOKEN|SECRET|PASSW|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH)/i;
const MASK = Buffer.from('***');
/** Values shorter than this are not masked (they would blank ordinary words). */
const MIN_SECRET_LENGTH = 6;
const MAX_SECRETS = 32;

/** Replaces each occurrence of a secret-named env value with ***; linear per value. */
export const envValueMasker = {
  mask(job: MaskableJob, log: Buffer): Buffer {
    const values = Object.entries(job.spec.env ?? {})
      .filter(([name, value]) => SECRET_NAME.test(name) && value.length >= MIN_SECRET_LENGTH)
      .slice(0, MAX_SECRETS)
      .map(([, value]) => Buffer.from(value));
    let out = log;
    for (const value of values) out = replaceAll(out, value);
    return out;
  },
};

function replaceAll(log: Buffer, value: Buffer): Buffer {
  let at = log.indexOf(value);
  if (at < 0) return log;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(log.subarray(from, at), MASK);
    from = at + value.length;
    at = log.indexOf(value, from);
  }
  parts.push(log.subarray(from));
  return Buffer.concat(parts);
}

/**
 * The job's workspace secrets (spec.secrets, and the ones a workflow step referred to) in every
 * encoding SecretMasker covers, then the values of secret-named env variables. A secret deleted since
 * the run cannot be opened, so it is not masked here (the stored output was masked when written).
 */
@Injectable()
export class WorkspaceSecretsLogMasker implements LogMasker {
  constructor(private readonly secrets: SecretsService) {}

  async forJob(job: MaskableJob): Promise<(log: Buffer) => Buffer> {
    const names = [...Object.values(job.spec.secrets ?? {}), ...(job.spec.internal?.mask_secrets ?? [])];
    const masker = names.length ? new SecretMasker((await this.secrets.open(job.workspaceId, names)).values()) : SecretMasker.none;
    return (log) => masker.maskBuffer(envValueMasker.mask(job, log));
  }
}
