import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { APPROVAL_STATUSES, ApprovalStatus } from 'src/policies/entities/approval-request.entity';

export class DecideApprovalDto {
  /** Why (shown to the requester on the job). */
  @IsOptional() @IsString() @MaxLength(2000)
  comment?: string;
}

export class ListApprovalsQueryDto {
  /** pending (default: still waiting and not expired) | approved | rejected | expired */
  @IsOptional() @IsIn(APPROVAL_STATUSES)
  status?: ApprovalStatus;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
}
