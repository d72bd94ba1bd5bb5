import fc from 'fast-check';
import { RawJson, withKey } from './json-text';
import { resolve, type OpenApiDocument, type Schema } from './openapi';

/** Strings that have broken parsers, validators, queries and templates before. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\n ',
  '\u00a0',
  '\u200b',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\u202eevil',
  '😀'.repeat(40),
  'Ǆ̴̡̛̯̺̟̝̹̩̈́̃̎̒̌̐̚',
  'a'.repeat(129),
  'a'.repeat(1025),
  'a'.repeat(4097),
  'x'.repeat(70_000),
  "'; DROP TABLE tenants; --",
  '" OR 1=1 --',
  '%',
  '%00',
  '%ZZ',
  '../../../etc/passwd',
  '/',
  'relative/path',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'null',
  'undefined',
  'true',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x1f',
  '١٢٣',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF',
  '2024-02-30T25:61:61Z',
  '9999-12-31T23:59:59.999Z',
  '-271821-04-20T00:00:00.000Z',
  '10.0.0.0/33',
  '999.1.1.1',
];

/** Numbers at and past every limit a field might have, and values JSON.parse bends. */
const HOSTILE_NUMBERS: readonly unknown[] = [
  -1,
  0,
  -0,
  0.5,
  1.000000001,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 63),
  1e21,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  new RawJson('1e999'),
  new RawJson('-1e999'),
  new RawJson('123456789012345678901234567890'),
  new RawJson('1.0'),
  new RawJson('1E2'),
];

export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Where known ids come from, so that generated requests reach past the 404s. */
export interface IdPools {
  /** Every id the fixtures created, of any kind. */
  all: readonly string[];
  tenants: readonly string[];
  nodes: readonly string[];
  templates: readonly string[];
  deployments: readonly string[];
}

/** The ids a `format: uuid` field named `name` should mostly carry. */
function idsFor(name: string | undefined, ids: IdPools): readonly string[] {
  switch (name) {
    case 'tenantId':
      return ids.tenants;
    case 'nodeId':
      return ids.nodes;
    case 'templateId':
      return ids.templates;
    case 'deploymentId':
      return ids.deployments;
    case undefined:
    default:
      return ids.all;
  }
}

const MAX_INT32 = 2 ** 31 - 1;

/** Builds fast-check arbitraries from the schemas of one OpenAPI document. */
export class ValueArbitraries {
  /** Built once per schema: building is what costs, not drawing values. */
  private readonly built = new WeakMap<Schema, Map<string, fc.Arbitrary<unknown>>>();

  constructor(
    private readonly doc: OpenApiDocument,
    private readonly ids: IdPools,
  ) {}

  private memo(schema: Schema, key: string, build: () => fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
    let forSchema = this.built.get(schema);
    if (!forSchema) this.built.set(schema, (forSchema = new Map<string, fc.Arbitrary<unknown>>()));
    let arbitrary = forSchema.get(key);
    if (!arbitrary) forSchema.set(key, (arbitrary = build()));
    return arbitrary;
  }

  /**
   * Values that mostly satisfy `schema`, limits included, so requests get past validation;
   * `name` is the property's, which says what kind of id a uuid should be.
   */
  plausible(schema: Schema, depth = 0, name?: string): fc.Arbitrary<unknown> {
    return this.memo(schema, `plausible ${depth} ${name ?? ''}`, () => this.buildPlausible(schema, depth, name));
  }

  /** Values that break `schema` (or any schema): wrong types, limits passed, odd shapes. */
  hostile(schema: Schema): fc.Arbitrary<unknown> {
    return this.memo(schema, 'hostile', () => {
      const s = resolve(this.doc, schema);
      return fc.oneof({ weight: 3, arbitrary: this.breaking(s) }, { weight: 2, arbitrary: ANY_HOSTILE });
    });
  }

  /**
   * A plausible value of `schema` with one part somewhere inside it replaced by a hostile one,
   * or given an extra, unknown or prototype-named key.
   */
  mutated(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
    return this.memo(schema, `mutated ${depth}`, () => this.buildMutated(schema, depth));
  }

  private buildPlausible(schema: Schema, depth: number, name?: string): fc.Arbitrary<unknown> {
    const s = resolve(this.doc, schema);
    if (s.enum) return fc.constantFrom(...s.enum);
    if (s.oneOf) return fc.oneof(...s.oneOf.map((option) => this.plausible(option, depth + 1, name)));
    switch (s.type) {
      case 'integer':
      case 'number':
        return this.plausibleNumber(s);
      case 'boolean':
        return fc.boolean();
      case 'string':
        return this.plausibleString(s, name);
      case 'array':
        return fc.array(this.plausible(s.items ?? {}, depth + 1), {
          minLength: Math.min(s.minItems ?? 0, 4),
          maxLength: Math.min(s.maxItems ?? 4, 4),
        });
      case undefined:
      default:
        return this.plausibleObject(s, depth);
    }
  }

  private buildMutated(schema: Schema, depth: number): fc.Arbitrary<unknown> {
    const s = resolve(this.doc, schema);
    const properties = Object.entries(s.properties ?? {});
    if (depth < 3 && properties.length > 0) {
      const oddOne = properties.map(([name, property]) =>
        fc
          .tuple(this.plausible(schema, depth), fc.oneof(this.hostile(property), this.mutated(property, depth + 1)))
          .map(([base, value]) => withKey(base, name, value)),
      );
      return fc.oneof(
        { weight: 6, arbitrary: fc.oneof(...oddOne) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(this.plausible(schema, depth), fc.constantFrom(...PROTOTYPE_KEYS, 'unknownField', '', 'hasOwnProperty'), ANY_HOSTILE)
            .map(([base, key, value]) => withKey(base, key, value)),
        },
      );
    }
    if (depth < 3 && s.type === 'array' && s.items) {
      const items = s.items;
      return fc
        .tuple(fc.array(this.plausible(items, depth + 1), { maxLength: 3 }), this.mutated(items, depth + 1))
        .map(([list, odd]) => [...list, odd]);
    }
    if (s.type === 'object' && typeof s.additionalProperties === 'object') {
      // A map (env, labels): a hostile key or value among plausible entries.
      const entries = s.additionalProperties;
      return fc
        .tuple(this.plausible(schema, depth), fc.constantFrom(...PROTOTYPE_KEYS, '', ' ', '1X', 'a b', 'a'.repeat(300), '-x-'), fc.oneof(this.plausible(entries), ANY_HOSTILE))
        .map(([base, key, value]) => withKey(base, key, value));
    }
    return this.hostile(s);
  }

  private plausibleNumber(s: Schema): fc.Arbitrary<unknown> {
    const min = Math.max(s.minimum ?? 0, -MAX_INT32);
    const max = Math.min(s.maximum ?? 1_000_000, MAX_INT32);
    // Mostly small: versions, replicas and counts that exist.
    return fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min, max: Math.min(min + 4, max) }) },
      { weight: 2, arbitrary: fc.integer({ min, max }) },
      { weight: 1, arbitrary: fc.constantFrom(min, max) },
    );
  }

  private plausibleString(s: Schema, name?: string): fc.Arbitrary<string> {
    const known = idsFor(name, this.ids);
    switch (s.format) {
      case 'uuid':
        return known.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.uuid() }) : fc.uuid();
      case 'date-time':
        return fc
          .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
          .map((date) => date.toISOString());
      case 'ipv4':
        return fc.ipV4();
      case 'ipv4-cidr':
        return fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([address, bits]) => `${address}/${bits}`);
      case 'hostname':
        return fc.domain();
      case undefined:
      default:
        break;
    }
    if (s.pattern) return fc.stringMatching(new RegExp(s.pattern), { maxLength: s.maxLength ?? 64 });
    const text = fc.string({ minLength: Math.max(s.minLength ?? 1, 1), maxLength: Math.min(s.maxLength ?? 32, 32) });
    return typeof s.example === 'string' ? fc.oneof(fc.constant(s.example), text) : text;
  }

  private plausibleObject(s: Schema, depth: number): fc.Arbitrary<unknown> {
    if (s.properties) {
      // Optional fields mostly left out: they may exclude each other (replicas and perNode).
      const required = new Set(s.required ?? []);
      const fields = Object.entries(s.properties).map(([name, property]) => {
        const value = this.plausible(property, depth + 1, name).map((v): [string, unknown] => [name, v]);
        return required.has(name) ? value : fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
      });
      return fc.tuple(...fields).map((entries) => Object.fromEntries(entries.filter((entry) => entry !== undefined)));
    }
    if (typeof s.additionalProperties === 'object') {
      // Keys both an env map and a label map take.
      return fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/), this.plausible(s.additionalProperties, depth + 1), {
        maxKeys: 4,
      });
    }
    return fc.jsonValue({ maxDepth: 2 });
  }

  /** Values that break this particular schema's limits and types. */
  private breaking(s: Schema): fc.Arbitrary<unknown> {
    if (s.enum) {
      const names = s.enum.map(String);
      return fc.constantFrom(...names.map((name) => name.toUpperCase()), ...names.map((name) => ` ${name}`), names.join(','), names);
    }
    switch (s.type) {
      case 'integer':
      case 'number': {
        const limits = [s.minimum, s.maximum].filter((n): n is number => n !== undefined);
        const edges = limits.flatMap((n) => [n - 1, n + 1, n + 0.5, n * 1000, String(n)]);
        return fc.constantFrom(...edges, ...HOSTILE_NUMBERS);
      }
      case 'string': {
        const edges = [s.minLength, s.maxLength].filter((n): n is number => n !== undefined).flatMap((n) => ['a'.repeat(n + 1), ' '.repeat(n)]);
        return fc.constantFrom(...edges, ...HOSTILE_STRINGS, 42, null, ['a'], { a: 'b' });
      }
      case 'array': {
        const tooMany = (s.maxItems ?? 4096) + 1;
        return fc.oneof(
          fc.constant(Array.from({ length: tooMany }, () => 'a')),
          fc.array(ANY_HOSTILE, { maxLength: 3 }),
          fc.constantFrom([], [[]], [null], 'a', { 0: 'a' }),
        );
      }
      case undefined:
      default:
        return fc.oneof(
          fc.constantFrom([], [{}], 'object', 1, true, null),
          fc.constantFrom(...PROTOTYPE_KEYS).map((key) => withKey({}, key, { polluted: true })),
        );
    }
  }
}

/** A value of any shape from the hostile catalogue. */
const ANY_HOSTILE: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, {}, [], [[]], [null], { '': '' }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 90 }).map((levels) => nested(levels)) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS).map((key) => withKey({}, key, { isAdmin: true })) },
);

/** An object nested `levels` deep, around the API's depth limit. */
function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
}
