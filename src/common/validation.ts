import type { ValidationError} from '@nestjs/common';
import { ValidationPipe } from '@nestjs/common';
import type { FieldError} from 'src/common/errors/orcaops.error';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';

function collect(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own: FieldError[] = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...collect(e.children ?? [], field)];
  });
}

/** Request DTOs: unknown fields are rejected, types transformed, every problem listed. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    stopAtFirstError: false,
    exceptionFactory: (errors) =>
      new OrcaOpsError('validation_failed', 'The request is invalid', { fields: collect(errors) }),
  });
}
