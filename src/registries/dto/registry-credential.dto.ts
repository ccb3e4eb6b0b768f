import { IsString, Length, Matches } from 'class-validator';

export class PutRegistryCredentialDto {
  /** Registry host[:port] as image references name it: `ghcr.io`, `registry.example.com:5000`, `docker.io`. */
  @IsString() @Length(1, 255) @Matches(/^[^\s/]+$/, { message: 'host is a registry host[:port], without a scheme or path' })
  host!: string;

  @IsString() @Length(1, 255)
  username!: string;

  /** Password or access token. Write-only: never returned, logged or audited. */
  @IsString() @Length(1, 4096)
  password!: string;
}

export class RegistryCredentialResponseDto {
  id!: string;
  host!: string;
  username!: string;
  /** Token that stored (or last replaced) it. */
  created_by!: string;
  created_at!: string;
  updated_at!: string;
}

export class RegistryCredentialListResponseDto {
  items!: RegistryCredentialResponseDto[];
}
