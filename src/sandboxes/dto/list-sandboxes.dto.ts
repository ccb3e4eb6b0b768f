import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import { PageQueryDto } from 'src/common/pagination/page-query.dto';
import { SANDBOX_STATUSES, SandboxStatus } from 'src/sandboxes/sandbox-model';

export class ListSandboxesQueryDto extends PageQueryDto {
  @IsOptional() @IsIn(SANDBOX_STATUSES)
  status?: SandboxStatus;

  /** key=value; repeat to require several labels. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === undefined ? undefined : Array.isArray(value) ? value : [value]))
  @IsArray() @ArrayMaxSize(16) @IsString({ each: true })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}=.{0,256}$/, { each: true, message: 'label filters look like key=value' })
  label?: string[];

  /** Sandboxes created in this agent session. */
  @IsOptional() @IsUUID()
  session_id?: string;
}
