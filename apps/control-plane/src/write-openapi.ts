import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from './app.factory';
import { loadConfig } from './config/app-config';
import { buildOpenApiDocument } from './openapi/openapi.document';

/**
 * `node dist/write-openapi.js <file>`: writes the control plane's OpenAPI document to
 * `<file>` (the Nx target `control-plane:openapi`, which the SDK's code generation consumes).
 * The application is created, never listening, on a throw-away SQLite data directory.
 */
async function writeOpenApi(file: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-openapi-'));
  try {
    const app = await createApp(
      loadConfig({ MOAT_DATA_DIR: dataDir, MOAT_ADMIN_TOKEN: randomBytes(24).toString('base64url'), MOAT_LOG_LEVEL: 'silent' }),
    );
    try {
      writeFileSync(file, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const [file] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: write-openapi <file>\n');
  process.exit(2);
}
writeOpenApi(file).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
