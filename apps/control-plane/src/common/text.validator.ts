import { ValidateBy, type ValidationOptions } from 'class-validator';

/** A string with something other than whitespace in it. */
function isNotBlank(value: unknown): boolean {
  return typeof value === 'string' && value.trim().length > 0;
}

/** Whether `value` holds a NUL, which neither execve nor PostgreSQL text can take. */
function holdsNul(value: string): boolean {
  return value.includes('\0');
}

/**
 * What is wrong with `command` as a program and its arguments, or undefined. The program must
 * be named (later arguments may be anything, `''` included: `sh -c ''`), and no element may
 * hold a NUL. Other checks cover non-arrays and non-strings.
 */
export function argvProblem(command: readonly unknown[]): string | undefined {
  if (typeof command[0] === 'string' && !isNotBlank(command[0])) return 'must start with the program to run (its first element is blank)';
  if (command.some((arg) => typeof arg === 'string' && holdsNul(arg))) return 'must not contain NUL characters';
  return undefined;
}

/** An absolute path the guest can change into: it starts with "/" and holds no NUL. */
export function isAbsolutePath(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith('/') && !holdsNul(value);
}

/**
 * Text that means something where a blank means nothing (a name, an image reference): not
 * empty or only whitespace, and without NUL.
 */
export function IsText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isText',
      validator: {
        validate: (value: unknown) => isNotBlank(value) && !holdsNul(value as string),
        defaultMessage: (args) =>
          isNotBlank(args?.value) ? '$property must not contain NUL characters' : '$property must not be blank',
      },
    },
    options,
  );
}

/** A command array: a program and its arguments (see `argvProblem`). */
export function IsArgv(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isArgv',
      validator: {
        validate: (value: unknown) => !Array.isArray(value) || argvProblem(value) === undefined,
        defaultMessage: (args) => `$property ${Array.isArray(args?.value) ? (argvProblem(args.value) ?? '') : ''}`,
      },
    },
    options,
  );
}

/** An absolute path (see `isAbsolutePath`). */
export function IsAbsolutePath(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAbsolutePath',
      validator: {
        validate: isAbsolutePath,
        defaultMessage: () => '$property must be an absolute path, starting with "/" and without NUL characters',
      },
    },
    options,
  );
}
