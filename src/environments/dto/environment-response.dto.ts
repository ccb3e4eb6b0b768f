export class EnvironmentServiceResponseDto {
  /** The service's name: its DNS name on the environment's network, as the sandbox reaches it. */
  name!: string;
  image!: string;
  /** pending | starting | ready | failed | stopped */
  status!: string;
}

export class EnvironmentResponseDto {
  id!: string;
  workspace_id!: string;
  name!: string | null;
  /** The sandboxes.yml template it came from; null for a project file. */
  template!: string | null;
  /** starting | ready | stopping | stopped | failed */
  status!: string;
  /** Why it failed or ended. */
  message!: string | null;
  /** The environment's sandbox (exec, files and shells as for any sandbox); null until it is created. */
  sandbox_id!: string | null;
  services!: EnvironmentServiceResponseDto[];
  /** Progress lines while it starts (image pulls, readiness), oldest first. */
  events!: string[];
  ttl_seconds!: number;
  idle_timeout_seconds!: number;
  created_at!: string;
  stopped_at!: string | null;
}

export class EnvironmentListResponseDto {
  items!: EnvironmentResponseDto[];
}

export class EnvironmentTemplateServiceDto {
  name!: string;
  image!: string;
}

export class EnvironmentTemplateResponseDto {
  name!: string;
  description!: string | null;
  /** The sandbox's image (or profile). */
  sandbox!: string;
  services!: EnvironmentTemplateServiceDto[];
  /** The template as a project file (what `orcaops init TEMPLATE` writes). */
  file!: string;
}

export class EnvironmentTemplateListResponseDto {
  items!: EnvironmentTemplateResponseDto[];
}
