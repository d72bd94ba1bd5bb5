import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { answerClientError } from './common/client-error.handler';
import { RedisIoAdapter } from './common/redis-io.adapter';
import { refuseHostileShapes } from './common/request-shape.middleware';
import { createValidationPipe } from './common/validation.pipe';
import { AppConfig } from './config/app-config';
import { buildOpenApiDocument } from './openapi/openapi.document';

/** JSON bodies above this are answered with 413 before any handler runs. */
const JSON_BODY_LIMIT = '1mb';

/** Builds the configured application, ready to `listen` (used by `main` and by tests). */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
    // One port, TLS only: REST, /docs, /metrics and every socket.io namespace ride on this server,
    // and a plain-HTTP client fails its handshake instead of being answered in the clear.
    ...(config.tls && { httpsOptions: { cert: config.tls.cert, key: config.tls.key.reveal() } }),
  });
  app.useLogger(app.get(Logger));
  app.getHttpServer().on('clientError', answerClientError);
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  // Before any route, so validation never meets a body nested deep enough to overflow its stack.
  app.use(refuseHostileShapes);
  // The dashboard calls from another origin; auth is a bearer token, never a cookie.
  // The dashboard is another origin and every call carries Authorization, so each would need a
  // preflight; browsers may cache one for up to two hours (Chromium caps at 2 h).
  app.enableCors({ origin: '*', maxAge: 7200 });
  app.useGlobalPipes(createValidationPipe());

  const ioAdapter = new RedisIoAdapter(app);
  if (config.redisUrl) await ioAdapter.connect(config.redisUrl.reveal(), config.fleet.redisKeyPrefix);
  app.useWebSocketAdapter(ioAdapter);

  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  return app;
}
