import type { INestApplication } from '@nestjs/common';
import { resolve, type OpenApiDocument, type Schema } from '../../fuzz/support/openapi';

/** `METHOD /path/{param}`: one route, as the document writes it. */
export type RouteKey = string;

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/**
 * Every route the application's Express router serves, but the document's own (`/docs…`) and
 * middleware bound to every path (`forRoutes('*')`, registered as a `/*splat` route).
 */
export function servedRoutes(app: INestApplication): RouteKey[] {
  const { router } = app.getHttpAdapter().getInstance() as { router: { stack: RouterLayer[] } };
  return router.stack.flatMap(({ route }) =>
    !route || route.path.startsWith('/docs') || route.path.includes('*')
      ? []
      : Object.keys(route.methods).map((method) => `${method.toUpperCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`),
  );
}

export function documentedRoutes(doc: OpenApiDocument): RouteKey[] {
  return Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
}

const isDescribed = (schema: Schema): boolean => schema.properties !== undefined || schema.additionalProperties !== undefined;

/** A described object, an array of them, or one of several such forms. */
function isDescribedBody(doc: OpenApiDocument, schema: Schema): boolean {
  const resolved = resolve(doc, schema);
  if (resolved.oneOf) return resolved.oneOf.every((form) => isDescribedBody(doc, form));
  return isDescribed(resolve(doc, resolved.items ?? resolved));
}

/**
 * Where the document says less than the code: a request or JSON answer that is not a described
 * object (or an array of them), a route with no success answer, an object with no properties.
 */
export function vaguePlaces(doc: OpenApiDocument): string[] {
  const routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).flatMap(([method, operation]) => {
      const route = `${method.toUpperCase()} ${path}`;
      const answers = Object.entries(operation.responses);
      const bodies = [
        // Other media types (a file upload's bytes) are not objects.
        ...Object.entries(operation.requestBody?.content ?? {})
          .filter(([type]) => type === 'application/json')
          .map(([, { schema }]) => [`${route} request body`, schema] as const),
        ...answers.flatMap(([status, { content }]) =>
          Object.entries(content ?? {})
            .filter(([type]) => type === 'application/json')
            .map(([, { schema }]) => [`${route} ${status} answer`, schema] as const),
        ),
      ];
      return [
        ...(answers.some(([status]) => status.startsWith('2')) ? [] : [`${route} documents no success answer`]),
        ...bodies.flatMap(([where, schema]) => (isDescribedBody(doc, schema) ? [] : [`${where} is not a described object`])),
      ];
    }),
  );
  const properties = Object.entries(doc.components.schemas).flatMap(([name, schema]) =>
    Object.entries(schema.properties ?? {})
      .filter(([, property]) => {
        const resolved = resolve(doc, property);
        return resolved.type === 'object' && !isDescribed(resolved);
      })
      .map(([property]) => `${name}.${property} is a bare object`),
  );
  return [...routes, ...properties];
}

const TYPE_CHECKS: Record<string, (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string',
  number: (value) => typeof value === 'number',
  integer: (value) => Number.isInteger(value),
  boolean: (value) => typeof value === 'boolean',
  array: Array.isArray,
  object: (value) => typeof value === 'object' && !Array.isArray(value),
};

/** How `value`, found at `at`, differs from what `schema` documents (empty: it conforms). */
export function differences(doc: OpenApiDocument, schema: Schema, value: unknown, at: string): string[] {
  const resolved = resolve(doc, schema);
  if (value === null) return resolved.nullable ? [] : [`${at} is null, which the document does not allow`];
  if (resolved.oneOf) {
    const byForm = resolved.oneOf.map((form) => differences(doc, form, value, at));
    return byForm.some((found) => found.length === 0) ? [] : [`${at} has none of its documented forms: ${byForm.map((found) => found.join(', ')).join(' | ')}`];
  }
  if (resolved.enum && !resolved.enum.includes(value)) return [`${at} is ${JSON.stringify(value)}, not one of ${resolved.enum.join(', ')}`];
  const type = resolved.type ?? (resolved.items ? 'array' : isDescribed(resolved) ? 'object' : undefined);
  if (type && !TYPE_CHECKS[type]?.(value)) return [`${at} is ${JSON.stringify(value)}, not of type ${type}`];
  if (Array.isArray(value)) return value.flatMap((item, i) => differences(doc, resolved.items ?? {}, item, `${at}[${i}]`));
  if (typeof value !== 'object' || !isDescribed(resolved)) return [];
  const fields = value as Record<string, unknown>;
  const missing = (resolved.required ?? []).filter((name) => !(name in fields)).map((name) => `${at}.${name} is required but absent`);
  const found = Object.entries(fields).flatMap(([name, field]) => {
    const fieldSchema = resolved.properties?.[name] ?? (typeof resolved.additionalProperties === 'object' ? resolved.additionalProperties : undefined);
    return fieldSchema ? differences(doc, fieldSchema, field, `${at}.${name}`) : [`${at}.${name} is not in the document`];
  });
  return [...missing, ...found];
}
