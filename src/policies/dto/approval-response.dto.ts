import type { PolicyViolationDto } from 'src/policies/dto/policy-response.dto';

export class ApprovalResponseDto {
  id!: string;
  workspace_id!: string;
  /** pending | approved | rejected | expired */
  status!: string;
  /** What waits for the decision: `job`. */
  resource_type!: string;
  resource_id!: string;
  /** Token id of the requester. */
  requested_by!: string;
  /** The policy rules that asked for approval. */
  reasons!: PolicyViolationDto[];
  /** What would run: image, commands, network, resources. */
  summary!: Record<string, unknown>;
  expires_at!: string;
  decided_by!: string | null;
  decided_at!: string | null;
  comment!: string | null;
  created_at!: string;
}

export class ApprovalListResponseDto {
  items!: ApprovalResponseDto[];
}
