import type { ValidationOptions } from 'class-validator';
import { registerDecorator } from 'class-validator';

export interface StringMapOptions {
  maxKeys: number;
  keyPattern: RegExp;
  maxValueLength: number;
  /** Values must match it too (e.g. secret names). */
  valuePattern?: RegExp;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A flat object of string values with bounded, well-formed keys (environment variables, labels). */
export function IsStringMap(options: StringMapOptions, validationOptions?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isStringMap',
      target: target.constructor,
      propertyName: propertyName as string,
      options: validationOptions,
      validator: {
        validate(value: unknown): boolean {
          if (!isPlainObject(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= options.maxKeys &&
            entries.every(([k, v]) => options.keyPattern.test(k) && typeof v === 'string' && v.length <= options.maxValueLength && (!options.valuePattern || options.valuePattern.test(v)))
          );
        },
        defaultMessage(): string {
          return `$property must be an object of at most ${options.maxKeys} string values (keys matching ${options.keyPattern.source}, values up to ${options.maxValueLength} characters${options.valuePattern ? ` matching ${options.valuePattern.source}` : ''})`;
        },
      },
    });
  };
}

/** Metadata: a flat object of scalar values. */
export function IsScalarMap(maxKeys: number, validationOptions?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isScalarMap',
      target: target.constructor,
      propertyName: propertyName as string,
      options: validationOptions,
      validator: {
        validate(value: unknown): boolean {
          if (!isPlainObject(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= maxKeys &&
            entries.every(
              ([k, v]) =>
                k.length <= 64 &&
                (typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 1024)),
            )
          );
        },
        defaultMessage(): string {
          return `$property must be an object of at most ${maxKeys} string, number or boolean values`;
        },
      },
    });
  };
}
