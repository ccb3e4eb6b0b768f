export class AuditEventResponseDto {
  id!: string;
  occurred_at!: string;
  workspace_id!: string | null;
  /** organisation | workspace | anonymous | system */
  actor_type!: string;
  actor_id!: string | null;
  action!: string;
  resource_type!: string | null;
  resource_id!: string | null;
  /** success | denied | failure */
  outcome!: string;
  request_id!: string | null;
  client_ip!: string | null;
  via!: string | null;
  session_id!: string | null;
  details!: Record<string, unknown>;
}

export class AuditPageResponseDto {
  items!: AuditEventResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor!: string | null;
}
