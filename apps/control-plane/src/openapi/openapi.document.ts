import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/**
 * The OpenAPI document of every REST route `app` registers: served at `/docs-json`, and written
 * to a file at build time (src/write-openapi.ts) for the SDK's generated types.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Moat control plane')
      .setDescription('Tenants, nodes and microVM sandboxes. Authenticate with `Authorization: Bearer <token>`.')
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The admin token or a tenant API key' })
      .build(),
  );
}
