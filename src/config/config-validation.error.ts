/**
 * The configuration was refused. Its own file, without class-validator, so the CLI can recognise it
 * without loading the validator (issue 20 item 8: REST-client commands start fast).
 */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid OrcaOps configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}
