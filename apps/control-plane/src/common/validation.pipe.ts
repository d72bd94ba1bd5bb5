import { ValidationError, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { ErrorCode, ApiError } from './api.error';
import { findInJson } from './json-walk';

function describeErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) =>
      // class-validator names only the leaf property; prefix nested ones with their path.
      parent ? `${path}: ${text}` : text,
    );
    return [...own, ...describeErrors(error.children ?? [], path)];
  });
}

/**
 * Where a request body holds `null`. No field of the API takes it, but class-validator's
 * `@IsOptional()` lets it through as if the field were absent, and the services (which type
 * optional fields as `T | undefined`) would then trip over it.
 */
function nullValueProblem(body: unknown): string | undefined {
  return findInJson(body, ({ value, path }) => (value === null ? `${path} must not be null (leave it out instead)` : undefined));
}

/**
 * Where a path parameter or query string holds a NUL. No id, version or filter can contain
 * one, and PostgreSQL refuses it in any text it is asked to compare.
 */
function nulCharacterProblem(value: unknown, name: string | undefined): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? `${name ?? 'parameter'} must not contain NUL characters` : undefined;
  return findInJson(value, ({ value: item, path }) =>
    typeof item === 'string' && item.includes('\0') ? `${path} must not contain NUL characters` : undefined,
  );
}

/** Nest's pipe, refusing nulls in bodies and NULs in paths and query strings before it validates. */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const problem =
      metadata.type === 'body'
        ? nullValueProblem(value)
        : metadata.type === 'param' || metadata.type === 'query'
          ? nulCharacterProblem(value, metadata.data)
          : undefined;
    if (problem !== undefined) throw new ApiError(ErrorCode.VALIDATION_FAILED, problem);
    return (await super.transform(value, metadata)) as unknown;
  }
}

/**
 * Validates and transforms every DTO; unknown properties are errors, not silently dropped,
 * and so is a null anywhere in a body.
 */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new ApiError(ErrorCode.VALIDATION_FAILED, describeErrors(errors).join('; ') || 'invalid request'),
  });
}
