import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { ROLES, Role } from 'src/tenancy/permissions';

export class CreateTokenDto {
  @IsString() @Length(1, 100)
  name!: string;

  /** admin | developer | viewer | ci */
  @IsIn(ROLES)
  role!: Role;

  /** Days until the token expires (1–3650); no expiry when omitted. */
  @IsOptional() @IsInt() @Min(1) @Max(3650)
  expires_in_days?: number;
}

export class UpdateTokenDto {
  @IsOptional() @IsString() @Length(1, 100)
  name?: string;

  @IsOptional() @IsIn(ROLES)
  role?: Role;
}

export class TokenResponseDto {
  id!: string;
  workspace_id!: string;
  name!: string;
  role!: string;
  /** Enough of the token to recognise it; never the secret. */
  display_prefix!: string;
  created_at!: string;
  expires_at!: string | null;
  revoked_at!: string | null;
  last_used_at!: string | null;
  /** active | expired | revoked */
  state!: string;
}

export class IssuedTokenResponseDto extends TokenResponseDto {
  /** The secret token. Shown once: store it now. */
  token!: string;
}

export class TokenListResponseDto {
  items!: TokenResponseDto[];
}
