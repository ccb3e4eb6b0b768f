import type { EnvironmentTemplate } from 'src/environments/environment-definition';

/** The `environments:` templates of sandboxes.yml, loaded once at boot (a bad template stops the boot naming key and line). */
export class EnvironmentTemplateCatalog {
  private readonly byName: Map<string, EnvironmentTemplate>;

  constructor(readonly templates: EnvironmentTemplate[]) {
    this.byName = new Map(templates.map((t) => [t.name, t]));
  }

  get(name: string): EnvironmentTemplate | undefined {
    return this.byName.get(name);
  }
}
