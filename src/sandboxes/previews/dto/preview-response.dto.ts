export class PreviewResponseDto {
  id!: string;
  sandbox_id!: string;
  port!: number;
  expires_at!: string;
  revoked_at!: string | null;
  created_at!: string;
  /** The signed URL (only in the answer that issued it: it is not stored and cannot be shown again). */
  url?: string;
  /** The URL's path on the API (only when issued). */
  path?: string;
}

export class PreviewListResponseDto {
  /** Newest first (at most 200). */
  items!: PreviewResponseDto[];
}
