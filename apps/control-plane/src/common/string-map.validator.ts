import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, ValidateBy, ValidationOptions } from 'class-validator';

export interface StringMapRules {
  maxEntries: number;
  keyPattern: RegExp;
  keyDescription: string;
  maxValueLength: number;
}

/** Environment variables: POSIX-style names. */
export const ENV_MAP: StringMapRules = {
  maxEntries: 128,
  keyPattern: /^[A-Za-z_][A-Za-z0-9_]{0,255}$/,
  keyDescription: 'letters, digits and "_", not starting with a digit, at most 256',
  maxValueLength: 32_768,
};

/** Labels: Kubernetes-like keys, short values. */
export const LABEL_MAP: StringMapRules = {
  maxEntries: 64,
  keyPattern: /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/,
  keyDescription: 'letters, digits, ".", "_", "/", "-", at most 63, starting and ending alphanumeric',
  maxValueLength: 256,
};

/** What is wrong with `value` as a string-to-string map, or undefined when nothing. */
export function stringMapProblem(value: unknown, rules: StringMapRules): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of strings';
  const entries = Object.entries(value);
  if (entries.length > rules.maxEntries) return `must have at most ${rules.maxEntries} entries`;
  for (const [key, item] of entries) {
    if (!rules.keyPattern.test(key)) return `key "${key.slice(0, 64)}" is invalid (${rules.keyDescription})`;
    if (typeof item !== 'string') return `value of "${key}" must be a string`;
    if (item.includes('\0')) return `value of "${key}" must not contain NUL characters`;
    if (item.length > rules.maxValueLength) {
      return `value of "${key}" must be at most ${rules.maxValueLength} characters`;
    }
  }
  return undefined;
}

/** Validates a `Record<string, string>` property against `rules`. */
export function IsStringMap(rules: StringMapRules, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringMap',
      validator: {
        validate: (value: unknown) => stringMapProblem(value, rules) === undefined,
        defaultMessage: (args) => `${args?.property ?? 'value'} ${stringMapProblem(args?.value, rules) ?? ''}`,
      },
    },
    options,
  );
}

/** An optional `Record<string, string>` request property: validated against `rules` and documented as a string map. */
export function OptionalStringMap(rules: StringMapRules, doc: { example?: Record<string, string>; description?: string } = {}): PropertyDecorator {
  // Listed in the order stacked decorators apply (the bottom one first).
  return applyDecorators(
    IsStringMap(rules),
    IsOptional(),
    ApiProperty({ required: false, type: Object, additionalProperties: { type: 'string' }, ...doc }),
  );
}
