import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ErrorCode, ApiError } from './api.error';

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

/** Validates and transforms every DTO; unknown properties are errors, not silently dropped. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new ApiError(ErrorCode.VALIDATION_FAILED, describeErrors(errors).join('; ') || 'invalid request'),
  });
}
