import type { PolicyDocumentDto } from 'src/policies/dto/policy-document.dto';

export class OrganisationPolicyResponseDto {
  policy!: PolicyDocumentDto;
  updated_at!: string | null;
  updated_by!: string | null;
}

export class WorkspacePolicyResponseDto {
  workspace_id!: string;
  /** The organisation default every workspace starts from. */
  organisation!: PolicyDocumentDto;
  /** This workspace's own narrowing (empty when it has none). */
  workspace!: PolicyDocumentDto;
  /** What requests are decided against: organisation ∩ workspace (and the organisation's egress grant). */
  effective!: Record<string, unknown>;
  updated_at!: string | null;
  updated_by!: string | null;
}

export class PolicyViolationDto {
  /** images | commands | network | resources | isolation */
  rule!: string;
  field!: string;
  message!: string;
  /** deny | require_approval */
  effect!: string;
}

export class EgressVerdictDto {
  host!: string;
  port!: number;
  allowed!: boolean;
  /** The rule that decided, e.g. `network.allow_domains "pypi.org" (workspace)` or `protected 169.254.0.0/16`. */
  rule!: string;
  message!: string;
  /** The addresses the gateway would connect to (allowed), as resolved now. */
  addresses!: string[];
}

export class PolicyDecisionResponseDto {
  /** allowed | denied | requires_approval */
  decision!: string;
  violations!: PolicyViolationDto[];
  /** Only for an `egress` dry run. */
  egress?: EgressVerdictDto;
}
