import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { jsonText } from './json-text';
import type { OpenApiDocument, Route } from './openapi';
import { HOSTILE_STRINGS, PROTOTYPE_KEYS, ValueArbitraries } from './values';

/** The part of a request generated to be odd. */
type Focus = 'none' | 'path' | 'query' | 'body' | 'all';

/** Who a request claims to be (resolved to a token when it is sent), or an odd Authorization header. */
export type Caller = 'tenant' | 'admin' | 'otherTenant' | 'anonymous' | { authorization: string };

/** One request, ready to send but for the token. */
export interface FuzzRequest {
  method: string;
  /** The route it was generated for (`POST /v1/tenants`), or `stray`. */
  route: string;
  /** Path and query string, already encoded. */
  path: string;
  caller: Caller;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Ids the fixtures created, by the resource a path parameter names. */
export interface Fixtures {
  all: readonly string[];
  tenants: readonly string[];
  /** Tenants the fuzzer may suspend: not its own. */
  otherTenants: readonly string[];
  /** API keys the fuzzer may revoke: not its own. */
  apiKeys: readonly string[];
  nodes: readonly string[];
  sandboxes: readonly string[];
  templates: readonly string[];
  deployments: readonly string[];
  rollouts: readonly string[];
  /** What DELETE routes aim at, so that the others keep finding theirs. */
  doomed: { sandboxes: readonly string[]; deployments: readonly string[] };
}

interface RawBody {
  contentType?: string;
  contentEncoding?: string;
  body: Buffer;
}

const json = (text: string, contentType = 'application/json'): RawBody => ({ contentType, body: Buffer.from(text) });
const deep = (open: string, close: string, levels: number): string => `{"a":${open.repeat(levels)}1${close.repeat(levels)}}`;

/** Bodies the JSON parser itself must cope with: broken, deep, huge, mislabelled, compressed. */
function rawBodies(): RawBody[] {
  return [
    json(''),
    json('{'),
    json('{"a":}'),
    json('[1,]'),
    json("{'a':1}"),
    json('{"a":1}garbage'),
    json('NaN'),
    json('null'),
    json('"text"'),
    json('42'),
    json('\ufeff{"name":"bom"}'),
    json('{"name":"a","name":{"__proto__":{"x":1}}}'),
    json('{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}'),
    json('{"a":"\\ud800\\u0000"}'),
    json(deep('{"a":', '}', 63)),
    json(deep('{"a":', '}', 64)),
    json(deep('{"a":', '}', 1500)),
    json(deep('[', ']', 1500)),
    json(deep('[', ']', 200_000)),
    json(`{"a":[${'0,'.repeat(200_000)}0]}`),
    json(`{${Array.from({ length: 40_000 }, (_, i) => `"k${i}":1`).join(',')}}`),
    json(`{"a":"${'x'.repeat(1_100_000)}"}`),
    { contentType: 'application/json', body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
    json('{"name":"x"}', 'text/plain'),
    json('name=x&__proto__[admin]=1&constructor[prototype][x]=1', 'application/x-www-form-urlencoded'),
    json('--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--', 'multipart/form-data; boundary=b'),
    json('{"name":"x"}', 'application/json; charset=utf-16'),
    json('{"name":"x"}', 'application/json; charset=latin1'),
    json('{"name":"x"}', 'application/merge-patch+json'),
    { contentType: 'application/json', contentEncoding: 'gzip', body: Buffer.from('not gzip at all') },
    { contentType: 'application/json', contentEncoding: 'br', body: Buffer.from('not brotli') },
    { contentType: 'application/json', contentEncoding: 'compress', body: Buffer.from('{}') },
    { contentType: 'application/json', contentEncoding: 'gzip', body: gzipSync(Buffer.from('{"name":"zipped"}')) },
    // Expands past the 1 MiB limit: must be refused while inflating, not after.
    { contentType: 'application/json', contentEncoding: 'gzip', body: gzipSync(Buffer.from(`{"a":"${'0'.repeat(8_000_000)}"}`)) },
  ];
}

/** A path segment that is not a usable id: raw (so the server decodes it) or encoded. */
const HOSTILE_SEGMENTS: readonly string[] = [
  '%ZZ',
  '%FF',
  '%C0%AF',
  '%00',
  '%2e%2e',
  '..',
  '.',
  '%2F',
  '%20',
  'x'.repeat(300),
  'x'.repeat(20_000),
  '-1',
  '0',
  '1.5',
  '1e3',
  '0x10',
  '2147483648',
  '99999999999999999999',
  '9007199254740993',
  'NaN',
  ...HOSTILE_STRINGS.filter((text) => text.length < 2000).map(percentEncoded),
];

/** Which fixture pool a path parameter draws known ids from. */
function poolFor(route: Route, param: string, fixtures: Fixtures): readonly string[] {
  if (param === 'keyId') return fixtures.apiKeys;
  const resource = route.path.split('/')[2];
  switch (resource) {
    case 'tenants':
      return route.path.endsWith('/suspend') ? fixtures.otherTenants : fixtures.tenants;
    case 'nodes':
      return fixtures.nodes;
    case 'sandboxes':
      return route.method === 'DELETE' ? fixtures.doomed.sandboxes : fixtures.sandboxes;
    case 'templates':
      return fixtures.templates;
    case 'deployments':
      return route.method === 'DELETE' ? fixtures.doomed.deployments : fixtures.deployments;
    case 'rollouts':
      return fixtures.rollouts;
    default:
      return fixtures.all;
  }
}

const caller: fc.Arbitrary<Caller> = fc.oneof(
  { weight: 45, arbitrary: fc.constant('tenant' as const) },
  { weight: 45, arbitrary: fc.constant('admin' as const) },
  { weight: 4, arbitrary: fc.constant('otherTenant' as const) },
  { weight: 3, arbitrary: fc.constant('anonymous' as const) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom('Bearer', 'Bearer ', 'Bearer moat_', 'bearer moat_x', 'Bearer  moat_x', `Bearer ${'x'.repeat(5000)}`, 'Basic YWRtaW46YWRtaW4=', 'Bearer %00', 'Bearer moat_\u00ff')
      .map((authorization) => ({ authorization })),
  },
);

/** Generates requests for the routes of one OpenAPI document. */
export class RequestArbitraries {
  private readonly values: ValueArbitraries;
  private readonly raw = rawBodies();

  constructor(
    doc: OpenApiDocument,
    private readonly fixtures: Fixtures,
  ) {
    this.values = new ValueArbitraries(doc, fixtures);
  }

  /**
   * Requests for `route`. Each aims its oddity at one part (path parameters, query string or
   * body, or all at once, or none), the rest plausible, so that it gets as far as that part.
   */
  forRoute(route: Route): fc.Arbitrary<FuzzRequest> {
    const foci: [Focus, number][] = [
      ['none', 2],
      ['body', route.body ? 6 : 1],
      ['all', 1],
    ];
    if (route.pathParams.length > 0) foci.push(['path', 2]);
    if (route.queryParams.length > 0) foci.push(['query', 3]);
    return fc.oneof(...foci.map(([focus, weight]) => ({ weight, arbitrary: this.focused(route, focus) })));
  }

  private focused(route: Route, focus: Focus): fc.Arbitrary<FuzzRequest> {
    const odd = (part: Focus): boolean => focus === part || focus === 'all';
    return fc
      .record({
        caller,
        segments: fc.tuple(...route.pathParams.map(({ name, schema }) => this.pathSegment(route, name, schema, odd('path')))),
        query: this.queryString(route, odd('query')),
        body: route.body ? this.jsonBody(route.body, odd('body')) : this.strayBody(odd('body')),
      })
      .map(({ caller: who, segments, query, body }) => {
        let index = 0;
        const path = route.path.replace(/\{[^}]+\}/g, () => segments[index++] ?? '');
        return request(route.method, `${route.method} ${route.path}`, `${path}${query}`, who, body);
      });
  }

  /** Requests for no documented route: unknown paths, and methods a path does not have. */
  stray(paths: readonly string[]): fc.Arbitrary<FuzzRequest> {
    return fc
      .record({
        caller,
        method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        path: fc.oneof(
          fc.constantFrom(...paths).map((path) => path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000')),
          fc.constantFrom('/', '/v1', '/v2/tenants', '/v1/tenants/', '//v1//tenants', '/v1/%ZZ', '/v1/../healthz', '/docs-json?x=%ZZ', '/healthz?__proto__=1'),
        ),
        body: this.strayBody(true),
      })
      .map(({ caller: who, method, path, body }) => request(method, 'stray', path, who, method === 'HEAD' ? undefined : body));
  }

  private pathSegment(route: Route, name: string, schema: Route['pathParams'][number]['schema'], odd: boolean): fc.Arbitrary<string> {
    const known = poolFor(route, name, this.fixtures);
    const plausible =
      schema.enum && schema.enum.length > 0
        ? fc.constantFrom(...schema.enum.map(String))
        : name === 'version'
          ? fc.integer({ min: 1, max: 4 }).map(String)
          : known.length > 0
            ? fc.constantFrom(...known)
            : fc.uuid();
    if (!odd) return fc.oneof({ weight: 8, arbitrary: plausible }, { weight: 1, arbitrary: fc.uuid() });
    return fc.oneof(
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map(percentEncoded) },
    );
  }

  private queryString(route: Route, odd: boolean): fc.Arbitrary<string> {
    type Pairs = [string, string][];
    const none = fc.constant<Pairs>([]);
    const param = (name: string, schema: Route['queryParams'][number]['schema']): fc.Arbitrary<Pairs> => {
      const plausible = this.values.plausible(schema, 0, name).map((value): Pairs => [[name, queryValue(value)]]);
      if (!odd) return fc.oneof({ weight: 3, arbitrary: none }, { weight: 1, arbitrary: plausible });
      return fc.oneof(
        { weight: 4, arbitrary: none },
        { weight: 3, arbitrary: plausible },
        {
          weight: 2,
          arbitrary: fc.constantFrom(...HOSTILE_STRINGS, ...HOSTILE_SEGMENTS.map(decodeLoosely)).map((value): Pairs => [[name, value]]),
        },
        // Repeated (Express makes an array of it) or bracketed names.
        {
          weight: 1,
          arbitrary: fc.tuple(this.values.plausible(schema), this.values.plausible(schema)).map(([a, b]): Pairs => [
            [name, queryValue(a)],
            [name, queryValue(b)],
          ]),
        },
        { weight: 1, arbitrary: fc.constantFrom(`${name}[]`, `${name}[a]`, `${name}[__proto__]`).map((key): Pairs => [[key, '1']]) },
      );
    };
    const extras = odd
      ? fc.oneof(
          { weight: 8, arbitrary: none },
          { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS, 'unknown', '', 'a[b][c]').map((key): Pairs => [[key, 'x']]) },
        )
      : none;
    return fc.tuple(...route.queryParams.map(({ name, schema }) => param(name, schema)), extras).map((lists) => {
      const pairs = lists.flat();
      if (pairs.length === 0) return '';
      return `?${pairs.map(([key, value]) => `${percentEncoded(key)}=${percentEncoded(value)}`).join('&')}`;
    });
  }

  private jsonBody(schema: NonNullable<Route['body']>, odd: boolean): fc.Arbitrary<RawBody | undefined> {
    const asJson = (value: unknown): RawBody => json(jsonText(value));
    if (!odd) return this.values.plausible(schema).map(asJson);
    return fc.oneof(
      { weight: 6, arbitrary: this.values.mutated(schema).map(asJson) },
      { weight: 1, arbitrary: this.values.hostile(schema).map(asJson) },
      { weight: 1, arbitrary: fc.constantFrom(...this.raw) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
  }

  /** Routes without a body are sent none, or (when it is the odd part) a hostile one. */
  private strayBody(odd: boolean): fc.Arbitrary<RawBody | undefined> {
    return odd ? fc.constantFrom(...this.raw) : fc.constant(undefined);
  }
}

function request(method: string, route: string, path: string, who: Caller, raw: RawBody | undefined): FuzzRequest {
  const headers: Record<string, string> = {};
  if (raw?.contentType) headers['content-type'] = raw.contentType;
  if (raw?.contentEncoding) headers['content-encoding'] = raw.contentEncoding;
  return { method, route, path, caller: who, headers, body: raw?.body };
}

/** `text` percent-encoded as UTF-8; a lone surrogate (which encodeURIComponent refuses) as U+FFFD. */
function percentEncoded(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...Buffer.from(text)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  }
}

/** How a generated value reads in a query string. */
function queryValue(value: unknown): string {
  return typeof value === 'string' ? value : jsonText(value);
}

/** The text a hostile path segment stands for (used as a query value, encoded again there). */
function decodeLoosely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
