import type { ValidationError} from '@nestjs/common';
import { ValidationPipe } from '@nestjs/common';
import type { ClassConstructor } from 'class-transformer';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
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

/**
 * The same rules as the pipe, for front ends outside Nest's request pipeline (MCP tools): unknown
 * fields rejected, every problem listed, the typed DTO returned.
 */
export async function validateDto<T extends object>(type: ClassConstructor<T>, value: unknown): Promise<T> {
  const instance = plainToInstance(type, value ?? {}, { enableImplicitConversion: false });
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: false });
  if (errors.length) throw new OrcaOpsError('validation_failed', 'The request is invalid', { fields: collect(errors) });
  return instance;
}
