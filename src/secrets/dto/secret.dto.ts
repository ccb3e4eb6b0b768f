import { IsString, Length, Matches } from 'class-validator';

/** Secret values: up to 32 KiB (they become environment variables), no NUL bytes (an environment cannot hold them). */
export const MAX_SECRET_VALUE_LENGTH = 32_768;

export class SetSecretDto {
  /** The value (write-only: never returned by any API, shown in logs only as ***). */
  @IsString() @Length(1, MAX_SECRET_VALUE_LENGTH) @Matches(/^[^\0]*$/, { message: 'value must not contain NUL bytes' })
  value!: string;
}

export class SecretResponseDto {
  name!: string;
  /** workspace | organisation (an organisation secret is inherited by every workspace; a workspace secret of the same name wins) */
  scope!: string;
  /** The workspace of a workspace secret; null for an organisation secret. */
  workspace_id!: string | null;
  created_at!: string;
  updated_at!: string;
  /** Token ids of the first and the last write. */
  created_by!: string;
  updated_by!: string;
}

export class SetSecretResponseDto extends SecretResponseDto {
  /** True when the secret did not exist before this request. */
  created!: boolean;
}

export class SecretListResponseDto {
  /** Names and metadata only, sorted by name. In a workspace: its own secrets and the inherited organisation ones it does not override. */
  items!: SecretResponseDto[];
}
