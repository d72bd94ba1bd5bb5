import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.apiPort, config.apiHost);
  app.get(Logger).log(
    {
      url: await app.getUrl(),
      database: config.database.kind === 'sqlite' ? config.database.path : 'postgresql',
      adminToken: config.adminTokenSource === 'file' ? `${config.dataDir}/admin-token` : 'MOAT_ADMIN_TOKEN',
      redis: config.redisUrl !== undefined,
      tls: config.tls ? { cert: config.tls.certFile, validTo: config.tls.validTo } : false,
    },
    'control plane listening',
    'Main',
  );
}

main().catch((err: unknown) => {
  // Configuration problems are the operator's to fix: show the list, not a stack trace.
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
