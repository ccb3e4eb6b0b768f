import type { SelectQueryBuilder } from 'typeorm';
import { Brackets } from 'typeorm';
import { decodeCursor } from 'src/common/pagination/keyset-cursor';
import { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import type { JobEntity } from 'src/jobs/entities/job.entity';
import { imageLikePattern, logSearchPattern } from 'src/jobs/records/log-pattern';
import type { Comparison, RunFilter, RunQuery } from 'src/jobs/records/run-query';

const SQL_OP: Record<Comparison, string> = { '=': '=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' };

/**
 * Adds a parsed query's conditions to a workspace-scoped query builder over jobs (alias `j`, from
 * TenantScopedRepository.queryBuilder). Values are bound parameters; the SQL text is built only from
 * fixed fragments. Output text goes through the trigram index (a semi-join on job_log_chunks of the
 * same workspace).
 */
export function applyRunQuery(qb: SelectQueryBuilder<JobEntity>, workspaceId: string, query: RunQuery): SelectQueryBuilder<JobEntity> {
  query.filters.forEach((filter, i) => applyFilter(qb, filter, `f${i}`));
  query.text.forEach((text, i) => {
    const chunks = qb
      .subQuery()
      .select('c.job_id')
      .from(JobLogChunkEntity, 'c')
      .where(`c.workspace_id = :t${i}ws`)
      .andWhere(`encode(c.data, 'escape') ILIKE :t${i}`)
      .getQuery();
    qb.andWhere(`j.id IN ${chunks}`, { [`t${i}`]: logSearchPattern(text), [`t${i}ws`]: workspaceId });
  });
  return qb;
}

function applyFilter(qb: SelectQueryBuilder<JobEntity>, f: RunFilter, p: string): void {
  switch (f.field) {
    case 'status':
    case 'reason':
      qb.andWhere(`j.${f.field} IN (:...${p})`, { [p]: f.values });
      return;
    case 'image':
      if (f.pattern.includes('*')) qb.andWhere(`j.image LIKE :${p}`, { [p]: imageLikePattern(f.pattern) });
      else qb.andWhere(`j.image = :${p}`, { [p]: f.pattern });
      return;
    case 'fingerprint':
      // A whole fingerprint by equality: the (workspace, fingerprint, created) index then hands rows over newest
      // first (no sort). A hex prefix as a range, so that index serves it in any collation.
      if (f.prefix.length === 64) qb.andWhere(`j.fingerprint = :${p}`, { [p]: f.prefix });
      else qb.andWhere(`j.fingerprint >= :${p}lo AND j.fingerprint < :${p}hi`, { [`${p}lo`]: f.prefix, [`${p}hi`]: `${f.prefix}g` });
      return;
    case 'tag':
      // Containment, not `= ANY`: the form the (workspace_id, tags) GIN index answers.
      qb.andWhere(`j.tags @> ARRAY[:${p}]::text[]`, { [p]: f.value });
      return;
    case 'triggered_by':
      qb.andWhere(`j.triggered_by = :${p}`, { [p]: f.value });
      return;
    case 'session':
      qb.andWhere(`j.session_id = :${p}`, { [p]: f.value });
      return;
    case 'exit':
      qb.andWhere(`j.exit_code ${SQL_OP[f.op]} :${p}`, { [p]: f.value });
      return;
    case 'duration':
      qb.andWhere(`j.finished_at - j.started_at ${SQL_OP[f.op]} :${p} * interval '1 millisecond'`, { [p]: f.ms });
      return;
    case 'created':
      qb.andWhere(`j.created_at ${SQL_OP[f.op]} :${p}`, { [p]: f.at });
      return;
    case 'meta':
      // Containment, the form the (workspace_id, metadata) GIN index answers; metadata values are strings,
      // numbers or booleans, so `meta.attempt:2` matches {"attempt": "2"} and {"attempt": 2}.
      qb.andWhere(new Brackets((w) => metaCandidates(f.key, f.value).forEach((json, i) => w.orWhere(`j.metadata @> :${p}m${i}::jsonb`, { [`${p}m${i}`]: json }))));
      return;
  }
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** The metadata objects `key: value` may be stored as: the string, and the number or boolean it spells. */
export function metaCandidates(key: string, value: string): string[] {
  const candidates: unknown[] = [value];
  if (JSON_NUMBER.test(value) && Number.isFinite(Number(value))) candidates.push(Number(value));
  if (value === 'true' || value === 'false') candidates.push(value === 'true');
  return candidates.map((v) => JSON.stringify({ [key]: v }));
}

/** Newest first, after the keyset cursor (created_at, id) of the previous page. */
export function pageAfter(qb: SelectQueryBuilder<JobEntity>, cursor: string | undefined, limit: number): SelectQueryBuilder<JobEntity> {
  if (cursor) {
    const [at, cid] = decodeCursor(cursor);
    qb.andWhere(new Brackets((w) => w.where('j.created_at < :cursorAt', { cursorAt: at }).orWhere('j.created_at = :cursorAt AND j.id < :cursorId', { cursorAt: at, cursorId: cid })));
  }
  return qb.orderBy('j.created_at', 'DESC').addOrderBy('j.id', 'DESC').take(limit + 1);
}
