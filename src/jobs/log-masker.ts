/**
 * The seam where secrets leave a job's output before anything is derived from it (summaries today).
 * Everything a summary is made of (the excerpt, the summary line, the suggestion) is computed from what
 * `mask` returns, so masking is this one call. Values of workspace secrets (spec.secrets) never reach
 * it: the job's output is stored already masked (JobLogWriter.mask, src/common/masking/secret-masker.ts).
 * This masker covers what is left, the values of environment variables whose names look secret.
 */
export const LOG_MASKER = Symbol('LOG_MASKER');

export interface MaskableJob {
  workspaceId: string;
  spec: { env?: Record<string, string> };
}

export interface LogMasker {
  mask(job: MaskableJob, log: Buffer): Buffer;
}

const SECRET_NAME = /(TOKEN|SECRET|PASSW|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH)/i;
const MASK = Buffer.from('***');
/** Values shorter than this are not masked (they would blank ordinary words). */
const MIN_SECRET_LENGTH = 6;
const MAX_SECRETS = 32;

/** Replaces each occurrence of a secret-named env value with ***; linear per value. */
export const envValueMasker: LogMasker = {
  mask(job, log) {
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
