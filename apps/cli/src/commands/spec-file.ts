import { readFile } from 'node:fs/promises';
import { CliError } from '../errors/exit-codes';

/**
 * The JSON object in `file`: a body the API validates itself (its refusal names the field),
 * so it is passed on as read.
 */
export async function readJsonObject<T extends object>(file: string): Promise<T> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError(`${file} does not hold a JSON object`);
  return value as T;
}
