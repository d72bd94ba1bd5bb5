/** The parts of an OpenAPI 3 document the fuzzer reads (what @nestjs/swagger emits). */
export interface Schema {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  type?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  example?: unknown;
  nullable?: boolean;
}

interface Parameter {
  name: string;
  in: string;
  schema?: Schema;
}

export interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** One method on one path, as the document describes it. */
export interface Route {
  method: string;
  /** The path template, e.g. `/v1/tenants/{id}/api-keys/{keyId}`. */
  path: string;
  pathParams: { name: string; schema: Schema }[];
  queryParams: { name: string; schema: Schema }[];
  body?: Schema;
  /** The statuses the document declares for this route. */
  declared: ReadonlySet<number>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

export function routesOf(doc: OpenApiDocument): Route[] {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => {
        const parameters = operation.parameters ?? [];
        const pick = (where: string): { name: string; schema: Schema }[] =>
          parameters.filter((p) => p.in === where).map((p) => ({ name: p.name, schema: p.schema ?? { type: 'string' } }));
        return {
          method: method.toUpperCase(),
          path,
          pathParams: pick('path'),
          queryParams: pick('query'),
          body: operation.requestBody?.content['application/json']?.schema,
          declared: new Set(Object.keys(operation.responses).map(Number)),
        };
      }),
  );
}

/** `schema` with `$ref`s followed and `allOf`s merged, one level deep. */
export function resolve(doc: OpenApiDocument, schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 16; hops++) {
    const name = current.$ref.replace('#/components/schemas/', '');
    const { $ref: _ref, ...rest } = current;
    current = { ...rest, ...doc.components.schemas[name] };
  }
  if (!current.allOf) return current;
  const { allOf, ...rest } = current;
  return allOf.reduce<Schema>((merged, part) => ({ ...resolve(doc, part), ...merged }), rest);
}

/** The error codes the document lists: an error body must carry one of them. */
export function errorCodesOf(doc: OpenApiDocument): ReadonlySet<string> {
  return new Set((doc.components.schemas.ErrorCode?.enum ?? []).map(String));
}
