// Generates the Kafka protocol codec (src/protocol/generated/) from Kafka's JSON message schemas.
//
//   tsx scripts/generate-protocol.ts <schemaDir> [outDir]      (outDir defaults to src/protocol/generated)
//
// Input: every `*Request.json` / `*Response.json` (type request/response) plus RequestHeader.json and
// ResponseHeader.json. `//` comments outside strings are stripped before JSON.parse.
//
// Output: one module per API, `<kebab-case api name>.ts`, holding both directions; `request-header.ts`,
// `response-header.ts`; and `index.ts` with `ApiKey` and `API_CODECS`. For each message and each nested
// struct the module exports an interface, `make<Name>()` (schema defaults), and for messages
// `read<Name>(r, version)` / `write<Name>(w, version, m)`. The code is straight-line: one block per field with
// version guards; nothing interprets a schema at runtime.
//
// Rules (mirroring Kafka's own generator, clients/src/main/java/.../message/MessageDataGenerator):
// - Names: fields are the schema name with the first letter lower-cased (`TopicData` → `topicData`).
//   Nested struct types are `<MessageName><StructName>`, except that a struct name already starting with
//   the message name is kept as is (`MetadataResponseTopic`). So request and response structs of the same
//   schema name never collide; any remaining collision fails the generator.
// - A field absent from some versions of its enclosing struct is optional (`?`) in the interface; its doc
//   comment gives the range. Reading a version without it yields the default. Writing a version without it
//   throws ProtocolEncodeError if the value differs from the default and the field is not `ignorable`
//   (ignorable fields are silently dropped); `undefined` counts as the default.
// - Flexible versions use compact strings/bytes/arrays and end every struct with a tagged-field section.
//   A field's own `flexibleVersions` overrides the message's (RequestHeader.ClientId is "none").
// - Tagged fields are written, in tag order, only when they differ from their default, each as
//   tag, size, value. Unknown tags are skipped when reading.
// - Nullable structs: int8 -1 (null) / 1 (present) before the struct; as a tagged field, varint 0 / 1.
// - Defaults: ints/floats 0, bool false, string "", bytes empty, uuid all zeros, arrays empty, structs
//   `make…()`; `default` in the schema overrides ("null", hex via Java's Integer.decode rules, booleans).
//   `records` default to null when nullable in all their versions, else to an empty Buffer.
// - int64 → bigint; bytes/records → Buffer (zero-copy slices); uuid → 16-byte Buffer; nullable → `T | null`.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------------------
// Schema model

export interface VersionRange {
  lo: number;
  /** Inclusive; Infinity for open-ended ranges. lo > hi means empty. */
  hi: number;
}

export const NO_VERSIONS: VersionRange = { lo: 1, hi: 0 };

export function parseVersions(spec: string | undefined): VersionRange {
  if (spec === undefined || spec === 'none') return NO_VERSIONS;
  let m = /^(\d+)\+$/.exec(spec);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(spec);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(spec);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`bad version spec ${JSON.stringify(spec)}`);
}

export function isEmpty(v: VersionRange): boolean {
  return v.lo > v.hi;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  const r = { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
  return isEmpty(r) ? NO_VERSIONS : r;
}

export function contains(v: VersionRange, version: number): boolean {
  return version >= v.lo && version <= v.hi;
}

function covers(outer: VersionRange, inner: VersionRange): boolean {
  return isEmpty(inner) || (outer.lo <= inner.lo && outer.hi >= inner.hi);
}

function hull(a: VersionRange, b: VersionRange): VersionRange {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

function formatRange(v: VersionRange): string {
  if (isEmpty(v)) return 'none';
  if (v.hi === Infinity) return `${v.lo}+`;
  if (v.lo === v.hi) return `${v.lo}`;
  return `${v.lo}-${v.hi}`;
}

export interface FieldSpec {
  name: string;
  /** Property name: the schema name with its first letter lower-cased. */
  prop: string;
  type: string;
  versions: VersionRange;
  nullableVersions: VersionRange;
  taggedVersions: VersionRange;
  tag: number | undefined;
  ignorable: boolean;
  default: string | number | boolean | undefined;
  about: string;
  /** The field's own flexibleVersions, when it overrides the message's. */
  flexibleVersions: VersionRange | undefined;
  /** Inline struct definition (for struct and array-of-struct types). */
  fields: FieldSpec[] | undefined;
}

export interface MessageSpec {
  name: string;
  type: 'request' | 'response' | 'header';
  apiKey: number | undefined;
  validVersions: VersionRange;
  flexibleVersions: VersionRange;
  latestVersionUnstable: boolean;
  fields: FieldSpec[];
  commonStructs: Map<string, FieldSpec[]>;
  file: string;
}

/** Removes `//` comments that sit outside JSON strings. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  ignorable?: boolean;
  default?: string | number | boolean;
  about?: string;
  flexibleVersions?: string;
  fields?: RawField[];
}

function parseField(raw: RawField): FieldSpec {
  if (raw.versions === undefined) throw new Error(`field ${raw.name} has no versions`);
  return {
    name: raw.name,
    prop: raw.name[0]!.toLowerCase() + raw.name.slice(1),
    type: raw.type,
    versions: parseVersions(raw.versions),
    nullableVersions: parseVersions(raw.nullableVersions),
    taggedVersions: parseVersions(raw.taggedVersions),
    tag: raw.tag,
    ignorable: raw.ignorable === true,
    default: raw.default,
    about: raw.about ?? '',
    flexibleVersions: raw.flexibleVersions === undefined ? undefined : parseVersions(raw.flexibleVersions),
    fields: raw.fields?.map(parseField),
  };
}

export function parseMessage(text: string, file: string): MessageSpec | undefined {
  const raw = JSON.parse(stripComments(text)) as {
    name: string;
    type: string;
    apiKey?: number;
    validVersions: string;
    flexibleVersions: string;
    latestVersionUnstable?: boolean;
    fields: RawField[];
    commonStructs?: { name: string; fields: RawField[] }[];
  };
  if (raw.type !== 'request' && raw.type !== 'response' && raw.type !== 'header') return undefined;
  return {
    name: raw.name,
    type: raw.type,
    apiKey: raw.apiKey,
    validVersions: parseVersions(raw.validVersions),
    flexibleVersions: parseVersions(raw.flexibleVersions),
    latestVersionUnstable: raw.latestVersionUnstable === true,
    fields: raw.fields.map(parseField),
    commonStructs: new Map((raw.commonStructs ?? []).map((s) => [s.name, s.fields.map(parseField)])),
    file,
  };
}

/** Loads the request, response and header schemas of a directory, sorted by file name. */
export function loadSchemas(schemaDir: string): MessageSpec[] {
  const files = fs
    .readdirSync(schemaDir)
    .filter((f) => /(Request|Response)(Header)?\.json$/.test(f))
    .sort();
  const out: MessageSpec[] = [];
  for (const f of files) {
    const spec = parseMessage(fs.readFileSync(path.join(schemaDir, f), 'utf8'), f);
    if (spec) out.push(spec);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Types

const PRIMITIVES = new Set(['bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'uuid']);

export type TypeKind =
  | { kind: 'primitive'; name: string }
  | { kind: 'string' }
  | { kind: 'bytes' }
  | { kind: 'records' }
  | { kind: 'struct'; name: string }
  | { kind: 'array'; element: TypeKind };

export function classifyType(type: string): TypeKind {
  if (type.startsWith('[]')) {
    const element = classifyType(type.slice(2));
    if (element.kind === 'array' || element.kind === 'records') throw new Error(`unsupported array type ${type}`);
    return { kind: 'array', element };
  }
  if (PRIMITIVES.has(type)) return { kind: 'primitive', name: type };
  if (type === 'string') return { kind: 'string' };
  if (type === 'bytes') return { kind: 'bytes' };
  if (type === 'records') return { kind: 'records' };
  if (/^[A-Z]/.test(type)) return { kind: 'struct', name: type };
  throw new Error(`unknown type ${type}`);
}

/** Parses a schema default the way Java's Integer.decode / Long.decode do (sign, 0x/#/0 prefixes). */
export function parseIntegerDefault(value: string | number): bigint {
  if (typeof value === 'number') return BigInt(value);
  let s = value.trim();
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  let n: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = BigInt(s);
  else if (/^#[0-9a-fA-F]+$/.test(s)) n = BigInt('0x' + s.slice(1));
  else if (/^0[0-7]+$/.test(s)) n = BigInt('0o' + s.slice(1));
  else if (/^\d+$/.test(s)) n = BigInt(s);
  else throw new Error(`bad integer default ${JSON.stringify(value)}`);
  return negative ? -n : n;
}

// ---------------------------------------------------------------------------------------------------------
// Code generation

const BANNER = (source: string): string =>
  `// GENERATED by scripts/generate-protocol.ts from the Kafka 3.9 message schemas (${source}).\n` +
  `// Do not edit by hand: change the generator and run \`npm run gen:protocol\`.\n`;

function toKebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Condition on `version` for membership in `range`, knowing that `version` lies within `ctx`. */
function versionCond(range: VersionRange, ctx: VersionRange): string | boolean {
  const r = intersect(range, ctx);
  if (isEmpty(r)) return false;
  const parts: string[] = [];
  if (r.lo > ctx.lo) parts.push(`version >= ${r.lo}`);
  if (r.hi < ctx.hi) parts.push(`version <= ${r.hi}`);
  return parts.length === 0 ? true : parts.join(' && ');
}

function pick(cond: string | boolean, yes: string, no: string): string {
  if (cond === true) return yes;
  if (cond === false) return no;
  return `(${cond} ? ${yes} : ${no})`;
}

function docComment(indent: string, lines: string[]): string {
  const text = lines.filter((l) => l.length > 0).map((l) => l.replace(/\*\//g, '*\\/'));
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`;
  return `${indent}/**\n${text.map((l) => `${indent} * ${l}`).join('\n')}\n${indent} */\n`;
}

interface StructInfo {
  /** TypeScript name (interface; `make`/`read`/`write`/`isDefault` suffix). */
  tsName: string;
  fields: FieldSpec[];
  /** Hull of the version ranges in which this struct is used. */
  ctx: VersionRange;
}

class MessageGenerator {
  readonly structs = new Map<string, StructInfo>();
  private readonly needIsDefault = new Set<string>();
  private out = '';
  private tmp = 0;

  constructor(
    readonly spec: MessageSpec,
    private readonly takenNames: Set<string>,
  ) {
    this.registerName(spec.name);
    this.collectStructs(spec.fields, spec.validVersions);
  }

  private registerName(name: string): void {
    if (this.takenNames.has(name)) throw new Error(`${this.spec.file}: type name ${name} collides`);
    this.takenNames.add(name);
  }

  private structTsName(schemaName: string): string {
    return schemaName.startsWith(this.spec.name) ? schemaName : this.spec.name + schemaName;
  }

  private collectStructs(fields: FieldSpec[], ctx: VersionRange): void {
    for (const f of fields) {
      const t = classifyType(f.type);
      const structName = t.kind === 'struct' ? t.name : t.kind === 'array' && t.element.kind === 'struct' ? t.element.name : undefined;
      if (structName === undefined) continue;
      const fieldCtx = intersect(f.versions, ctx);
      let info = this.structs.get(structName);
      let defs = f.fields;
      if (defs === undefined) {
        defs = this.spec.commonStructs.get(structName);
        if (defs === undefined) throw new Error(`${this.spec.file}: unknown struct type ${structName}`);
      }
      if (info === undefined) {
        info = { tsName: this.structTsName(structName), fields: defs, ctx: fieldCtx };
        this.registerName(info.tsName);
        this.structs.set(structName, info);
      } else {
        if (info.fields !== defs && f.fields !== undefined) {
          throw new Error(`${this.spec.file}: struct ${structName} defined twice`);
        }
        info.ctx = hull(info.ctx, fieldCtx);
      }
      this.collectStructs(defs, fieldCtx);
    }
  }

  private emit(s: string): void {
    this.out += s;
  }

  private fresh(base: string): string {
    return `${base}${this.tmp++}`;
  }

  // --- types and defaults ------------------------------------------------------------------------------

  private elementTsType(t: TypeKind): string {
    switch (t.kind) {
      case 'primitive':
        return t.name === 'int64' ? 'bigint' : t.name === 'bool' ? 'boolean' : t.name === 'uuid' ? 'Buffer' : 'number';
      case 'string':
        return 'string';
      case 'bytes':
      case 'records':
        return 'Buffer';
      case 'struct':
        return this.structs.get(t.name)!.tsName;
      case 'array':
        return `${this.elementTsType(t.element)}[]`;
    }
  }

  private isNullable(f: FieldSpec): boolean {
    return !isEmpty(intersect(f.nullableVersions, f.versions));
  }

  private recordsDefaultsToNull(f: FieldSpec): boolean {
    return covers(f.nullableVersions, f.versions);
  }

  private fieldTsType(f: FieldSpec): string {
    const t = classifyType(f.type);
    const base = this.elementTsType(t);
    return this.isNullable(f) ? `${base} | null` : base;
  }

  private defaultExpr(f: FieldSpec): string {
    const t = classifyType(f.type);
    const d = f.default;
    const isNullDefault = d === 'null';
    if (isNullDefault && !covers(f.nullableVersions, f.versions)) {
      throw new Error(`${this.spec.file}: ${f.name} defaults to null but is not nullable in all its versions`);
    }
    switch (t.kind) {
      case 'primitive': {
        if (isNullDefault) throw new Error(`${this.spec.file}: ${f.name}: null default for ${f.type}`);
        switch (t.name) {
          case 'bool':
            if (d === undefined) return 'false';
            if (d === true || d === 'true') return 'true';
            if (d === false || d === 'false') return 'false';
            throw new Error(`${this.spec.file}: ${f.name}: bad bool default ${String(d)}`);
          case 'int64':
            return `${d === undefined ? 0n : parseIntegerDefault(d as string | number)}n`;
          case 'float64':
            return d === undefined ? '0' : String(Number(d));
          case 'uuid':
            if (d !== undefined) throw new Error(`${this.spec.file}: ${f.name}: uuid default unsupported`);
            return 'Buffer.alloc(16)';
          default: {
            const n = d === undefined ? 0n : parseIntegerDefault(d as string | number);
            return String(n);
          }
        }
      }
      case 'string':
        if (isNullDefault) return 'null';
        return JSON.stringify(d === undefined ? '' : String(d));
      case 'bytes':
        if (isNullDefault) return 'null';
        if (d !== undefined) throw new Error(`${this.spec.file}: ${f.name}: bytes default unsupported`);
        return 'Buffer.alloc(0)';
      case 'records':
        return this.recordsDefaultsToNull(f) ? 'null' : 'Buffer.alloc(0)';
      case 'array':
        if (isNullDefault) return 'null';
        if (d !== undefined) throw new Error(`${this.spec.file}: ${f.name}: array default unsupported`);
        return '[]';
      case 'struct':
        if (isNullDefault) return 'null';
        return `make${this.structs.get(t.name)!.tsName}()`;
    }
  }

  /** Expression that is true when `v` (never undefined) equals the field's default. */
  private isDefaultExpr(f: FieldSpec, v: string): string {
    const t = classifyType(f.type);
    const d = this.defaultExpr(f);
    if (d === 'null') return `${v} === null`;
    const nn = this.isNullable(f) ? `${v} !== null && ` : '';
    switch (t.kind) {
      case 'primitive':
        if (t.name === 'uuid') return `isZeroUuid(${v})`;
        return `${v} === ${d}`;
      case 'string':
        return `${v} === ${d}`;
      case 'bytes':
      case 'records':
      case 'array':
        return `${nn}${v}.length === 0`;
      case 'struct': {
        const info = this.structs.get(t.name)!;
        this.needIsDefault.add(t.name);
        return `${nn}isDefault${info.tsName}(${v})`;
      }
    }
  }

  // --- reading -----------------------------------------------------------------------------------------

  /** Read expression for a string/bytes/records value. */
  private readVarExpr(kind: 'string' | 'bytes', flex: string | boolean, nullable: string | boolean): string {
    const noun = kind === 'string' ? 'String' : 'Bytes';
    const m = (compact: boolean, nul: boolean): string =>
      `r.read${compact ? 'Compact' : ''}${nul ? 'Nullable' : ''}${noun}()`;
    return pick(flex, pick(nullable, m(true, true), m(true, false)), pick(nullable, m(false, true), m(false, false)));
  }

  private readPrimitiveExpr(name: string): string {
    switch (name) {
      case 'bool':
        return 'r.readBoolean()';
      case 'int8':
        return 'r.readInt8()';
      case 'int16':
        return 'r.readInt16()';
      case 'uint16':
        return 'r.readUInt16()';
      case 'int32':
        return 'r.readInt32()';
      case 'uint32':
        return 'r.readUInt32()';
      case 'int64':
        return 'r.readInt64()';
      case 'float64':
        return 'r.readFloat64()';
      case 'uuid':
        return 'r.readUuid()';
    }
    throw new Error(`not a primitive: ${name}`);
  }

  private fieldFlexible(f: FieldSpec): VersionRange {
    return f.flexibleVersions ?? this.spec.flexibleVersions;
  }

  /**
   * Emits statements reading field `f` into `target` for versions in `range` (a subrange of the field's
   * versions in which it is encoded the same way: regular or tagged).
   */
  private emitReadValue(f: FieldSpec, target: string, range: VersionRange, tagged: boolean, ind: string): void {
    const expr = this.readValueExpr(f, range, tagged);
    if (expr !== undefined) {
      this.emit(`${ind}${target} = ${expr};\n`);
      return;
    }
    this.emitReadArray(f, target, range, ind);
  }

  /** Read expression for a non-array field, or undefined for arrays (which need statements). */
  private readValueExpr(f: FieldSpec, range: VersionRange, tagged: boolean): string | undefined {
    const t = classifyType(f.type);
    const flex = versionCond(this.fieldFlexible(f), range);
    const nullable = versionCond(f.nullableVersions, range);
    switch (t.kind) {
      case 'primitive':
        return this.readPrimitiveExpr(t.name);
      case 'string':
        return this.readVarExpr('string', flex, nullable);
      case 'bytes':
      case 'records':
        return this.readVarExpr('bytes', flex, nullable);
      case 'struct': {
        const info = this.structs.get(t.name)!;
        const read = `read${info.tsName}(r, version)`;
        if (nullable === false) return read;
        const marker = tagged ? 'r.readUnsignedVarint() <= 0' : 'r.readInt8() < 0';
        const body = `${marker} ? null : ${read}`;
        return nullable === true ? body : `${nullable} ? (${body}) : ${read}`;
      }
      case 'array':
        return undefined;
    }
  }

  private emitReadArray(f: FieldSpec, target: string, range: VersionRange, ind: string): void {
    const t = classifyType(f.type);
    if (t.kind !== 'array') throw new Error('not an array');
    const flex = versionCond(this.fieldFlexible(f), range);
    const nullable = versionCond(f.nullableVersions, range);
    switch (t.kind) {
      case 'array': {
        const n = this.fresh('n');
        const a = this.fresh('a');
        this.emit(`${ind}const ${n} = ${pick(flex, 'r.readCompactArrayLength()', 'r.readArrayLength()')};\n`);
        this.emit(`${ind}if (${n} < 0) {\n`);
        if (nullable === false) {
          this.emit(`${ind}  throw new ProtocolDecodeError('non-nullable field ${f.name} of ${this.spec.name} was serialized as null');\n`);
        } else if (nullable === true) {
          this.emit(`${ind}  ${target} = null;\n`);
        } else {
          this.emit(`${ind}  if (!(${nullable})) throw new ProtocolDecodeError('non-nullable field ${f.name} of ${this.spec.name} was serialized as null');\n`);
          this.emit(`${ind}  ${target} = null;\n`);
        }
        this.emit(`${ind}} else {\n`);
        const el = t.element;
        this.emit(`${ind}  const ${a}: ${this.elementTsType(el)}[] = [];\n`);
        let elExpr: string;
        if (el.kind === 'primitive') elExpr = this.readPrimitiveExpr(el.name);
        else if (el.kind === 'string') elExpr = this.readVarExpr('string', flex, false);
        else if (el.kind === 'bytes') elExpr = this.readVarExpr('bytes', flex, false);
        else if (el.kind === 'struct') elExpr = `read${this.structs.get(el.name)!.tsName}(r, version)`;
        else throw new Error('unsupported array element');
        this.emit(`${ind}  for (let i = 0; i < ${n}; i++) ${a}.push(${elExpr});\n`);
        this.emit(`${ind}  ${target} = ${a};\n`);
        this.emit(`${ind}}\n`);
        return;
      }
    }
  }

  private regularVersions(f: FieldSpec, ctx: VersionRange): VersionRange {
    const present = intersect(f.versions, ctx);
    if (f.tag === undefined || isEmpty(f.taggedVersions)) return present;
    // taggedVersions are open-ended, so the untagged versions are the ones below them.
    return intersect(present, { lo: 0, hi: f.taggedVersions.lo - 1 });
  }

  private taggedVersionsOf(f: FieldSpec, ctx: VersionRange): VersionRange {
    if (f.tag === undefined) return NO_VERSIONS;
    return intersect(intersect(f.taggedVersions, f.versions), ctx);
  }

  private emitReader(tsName: string, fields: FieldSpec[], ctx: VersionRange, exported: boolean): void {
    const flexCond = versionCond(this.spec.flexibleVersions, ctx);
    this.emit(`${exported ? 'export ' : ''}function read${tsName}(r: Reader, version: number): ${tsName} {\n`);
    const locals: string[] = [];
    for (const f of fields) {
      const local = `_${f.prop}`;
      locals.push(`${f.prop}: ${local}`);
      const type = this.fieldTsType(f);
      const regular = this.regularVersions(f, ctx);
      const cond = versionCond(regular, ctx);
      const expr = cond === true ? this.readValueExpr(f, regular, false) : undefined;
      if (expr !== undefined) {
        this.emit(`  const ${local} = ${expr};\n`);
      } else if (cond === true) {
        this.emit(`  let ${local}: ${type};\n`);
        this.emitReadValue(f, local, regular, false, '  ');
      } else {
        this.emit(`  let ${local}: ${type} = ${this.defaultExpr(f)};\n`);
        if (cond !== false) {
          this.emit(`  if (${cond}) {\n`);
          this.emitReadValue(f, local, regular, false, '    ');
          this.emit(`  }\n`);
        }
      }
    }
    const taggedFields = fields
      .filter((f) => !isEmpty(this.taggedVersionsOf(f, ctx)))
      .sort((a, b) => a.tag! - b.tag!);
    if (flexCond !== false) {
      const ind = flexCond === true ? '  ' : '    ';
      if (flexCond !== true) this.emit(`  if (${flexCond}) {\n`);
      if (taggedFields.length === 0) {
        this.emit(`${ind}r.skipTaggedFields();\n`);
      } else {
        this.emit(`${ind}const numTaggedFields = r.readUnsignedVarint();\n`);
        this.emit(`${ind}for (let t = 0; t < numTaggedFields; t++) {\n`);
        this.emit(`${ind}  const tag = r.readUnsignedVarint();\n`);
        this.emit(`${ind}  const end = r.readTaggedFieldEnd();\n`);
        this.emit(`${ind}  switch (tag) {\n`);
        for (const f of taggedFields) {
          const tv = this.taggedVersionsOf(f, ctx);
          const flexCtx = intersect(ctx, this.spec.flexibleVersions);
          const c = versionCond(tv, flexCtx);
          this.emit(`${ind}    case ${f.tag}:\n`);
          if (c === true) {
            this.emitReadValue(f, `_${f.prop}`, tv, true, `${ind}      `);
            this.emit(`${ind}      r.finishTaggedField(end);\n`);
          } else {
            this.emit(`${ind}      if (${c}) {\n`);
            this.emitReadValue(f, `_${f.prop}`, tv, true, `${ind}        `);
            this.emit(`${ind}        r.finishTaggedField(end);\n`);
            this.emit(`${ind}      } else {\n${ind}        r.offset = end;\n${ind}      }\n`);
          }
          this.emit(`${ind}      break;\n`);
        }
        this.emit(`${ind}    default:\n${ind}      r.offset = end;\n`);
        this.emit(`${ind}  }\n`);
        this.emit(`${ind}}\n`);
      }
      if (flexCond !== true) this.emit(`  }\n`);
    }
    this.emit(`  return { ${locals.join(', ')} };\n}\n\n`);
  }

  // --- writing -----------------------------------------------------------------------------------------

  private writePrimitiveStmt(name: string, v: string, w: string): string {
    switch (name) {
      case 'bool':
        return `${w}.writeBoolean(${v});`;
      case 'int8':
        return `${w}.writeInt8(${v});`;
      case 'int16':
        return `${w}.writeInt16(${v});`;
      case 'uint16':
        return `${w}.writeUInt16(${v});`;
      case 'int32':
        return `${w}.writeInt32(${v});`;
      case 'uint32':
        return `${w}.writeUInt32(${v});`;
      case 'int64':
        return `${w}.writeInt64(${v});`;
      case 'float64':
        return `${w}.writeFloat64(${v});`;
      case 'uuid':
        return `${w}.writeUuid(${v});`;
    }
    throw new Error(`not a primitive: ${name}`);
  }

  private nullError(f: FieldSpec): string {
    return `throw new ProtocolEncodeError('non-nullable field ${f.name} of ${this.spec.name} is null at version ' + version);`;
  }

  /** Emits statements writing `v` (a local, never undefined) for versions in `range`. */
  private emitWriteValue(f: FieldSpec, v: string, w: string, range: VersionRange, tagged: boolean, ind: string): void {
    const t = classifyType(f.type);
    const flex = versionCond(this.fieldFlexible(f), range);
    const nullable = versionCond(f.nullableVersions, range);
    const typeNullable = this.isNullable(f);
    // When the type admits null but this version range does not (fully), check before writing.
    const emitNullCheck = (): void => {
      if (!typeNullable || nullable === true) return;
      if (nullable === false) this.emit(`${ind}if (${v} === null) ${this.nullError(f)}\n`);
      else this.emit(`${ind}if (${v} === null && !(${nullable})) ${this.nullError(f)}\n`);
    };
    switch (t.kind) {
      case 'primitive':
        this.emit(`${ind}${this.writePrimitiveStmt(t.name, v, w)}\n`);
        return;
      case 'string':
      case 'bytes':
      case 'records': {
        const noun = t.kind === 'string' ? 'String' : 'Bytes';
        emitNullCheck();
        // After the null check a nullable writer is correct for every version in range.
        const nul = typeNullable;
        const m = (compact: boolean): string => `${w}.write${compact ? 'Compact' : ''}${nul ? 'Nullable' : ''}${noun}(${v});`;
        if (flex === true) this.emit(`${ind}${m(true)}\n`);
        else if (flex === false) this.emit(`${ind}${m(false)}\n`);
        else this.emit(`${ind}if (${flex}) ${m(true)}\n${ind}else ${m(false)}\n`);
        return;
      }
      case 'struct': {
        const info = this.structs.get(t.name)!;
        const write = `write${info.tsName}(${w}, version, ${v});`;
        if (!typeNullable) {
          this.emit(`${ind}${write}\n`);
          return;
        }
        emitNullCheck();
        const nullMarker = tagged ? `${w}.writeUnsignedVarint(0);` : `${w}.writeInt8(-1);`;
        const presentMarker = tagged ? `${w}.writeUnsignedVarint(1);` : `${w}.writeInt8(1);`;
        this.emit(`${ind}if (${v} === null) {\n${ind}  ${nullMarker}\n${ind}} else {\n`);
        if (nullable === true) this.emit(`${ind}  ${presentMarker}\n`);
        else if (nullable !== false) this.emit(`${ind}  if (${nullable}) ${presentMarker}\n`);
        this.emit(`${ind}  ${write}\n${ind}}\n`);
        return;
      }
      case 'array': {
        emitNullCheck();
        const el = t.element;
        const e = this.fresh('e');
        const elWrite = (compact: boolean): string => {
          if (el.kind === 'primitive') return this.writePrimitiveStmt(el.name, e, w);
          if (el.kind === 'string') return `${w}.write${compact ? 'Compact' : ''}String(${e});`;
          if (el.kind === 'bytes') return `${w}.write${compact ? 'Compact' : ''}Bytes(${e});`;
          if (el.kind === 'struct') return `write${this.structs.get(el.name)!.tsName}(${w}, version, ${e});`;
          throw new Error('unsupported array element');
        };
        const loop = (compact: boolean, ind2: string): void => {
          const len = `${w}.write${compact ? 'Compact' : ''}ArrayLength`;
          if (typeNullable) {
            this.emit(`${ind2}if (${v} === null) ${len}(-1);\n${ind2}else {\n`);
            this.emit(`${ind2}  ${len}(${v}.length);\n`);
            this.emit(`${ind2}  for (const ${e} of ${v}) ${elWrite(compact)}\n${ind2}}\n`);
          } else {
            this.emit(`${ind2}${len}(${v}.length);\n`);
            this.emit(`${ind2}for (const ${e} of ${v}) ${elWrite(compact)}\n`);
          }
        };
        if (flex === true) loop(true, ind);
        else if (flex === false) loop(false, ind);
        else {
          this.emit(`${ind}if (${flex}) {\n`);
          loop(true, ind + '  ');
          this.emit(`${ind}} else {\n`);
          loop(false, ind + '  ');
          this.emit(`${ind}}\n`);
        }
        return;
      }
    }
  }

  private isOptional(f: FieldSpec, ctx: VersionRange): boolean {
    return !covers(f.versions, ctx);
  }

  private emitWriter(tsName: string, fields: FieldSpec[], ctx: VersionRange, exported: boolean): void {
    const flexCond = versionCond(this.spec.flexibleVersions, ctx);
    this.emit(`${exported ? 'export ' : ''}function write${tsName}(w: Writer, version: number, m: ${tsName}): void {\n`);
    for (const f of fields) {
      const regular = this.regularVersions(f, ctx);
      const present = intersect(f.versions, ctx);
      const cond = versionCond(regular, ctx);
      const optional = this.isOptional(f, ctx);
      const local = `_${f.prop}`;
      const value = optional ? `(m.${f.prop} === undefined ? ${this.defaultExpr(f)} : m.${f.prop})` : `m.${f.prop}`;
      if (cond !== false) {
        if (cond === true) {
          this.emit(`  const ${local} = ${value};\n`);
          this.emitWriteValue(f, local, 'w', regular, false, '  ');
        } else {
          this.emit(`  if (${cond}) {\n`);
          this.emit(`    const ${local} = ${value};\n`);
          this.emitWriteValue(f, local, 'w', regular, false, '    ');
          this.emit(`  }`);
        }
      }
      // Versions where the field is absent altogether: a non-default value is an error unless ignorable.
      const absentCheck = !f.ignorable && !covers(present, ctx);
      if (absentCheck) {
        const presentCond = versionCond(present, ctx);
        // Directly after `if (regular) {…} else`, a field without tagged versions needs no presence test.
        const notPresent =
          presentCond === false || (cond !== false && covers(regular, present)) ? '' : `!(${presentCond}) && `;
        const check = `${notPresent}m.${f.prop} !== undefined && !(${this.isDefaultExpr(f, `m.${f.prop}`)})`;
        const stmt = `throw new ProtocolEncodeError('${this.spec.name}: non-default ${f.name} cannot be written at version ' + version);`;
        if (cond !== false) this.emit(` else if (${check}) {\n    ${stmt}\n  }\n`);
        else this.emit(`  if (${check}) {\n    ${stmt}\n  }\n`);
      } else if (cond !== false && cond !== true) {
        this.emit('\n');
      }
    }
    const taggedFields = fields
      .filter((f) => !isEmpty(this.taggedVersionsOf(f, ctx)))
      .sort((a, b) => a.tag! - b.tag!);
    if (flexCond !== false) {
      const ind = flexCond === true ? '  ' : '    ';
      if (flexCond !== true) this.emit(`  if (${flexCond}) {\n`);
      if (taggedFields.length === 0) {
        this.emit(`${ind}w.writeUnsignedVarint(0);\n`);
      } else {
        const flexCtx = intersect(ctx, this.spec.flexibleVersions);
        const setCond = (f: FieldSpec): string => {
          const c = versionCond(this.taggedVersionsOf(f, ctx), flexCtx);
          const optional = this.isOptional(f, ctx);
          const parts: string[] = [];
          if (c !== true) parts.push(String(c));
          if (optional) parts.push(`m.${f.prop} !== undefined`);
          parts.push(`!(${this.isDefaultExpr(f, `m.${f.prop}`)})`);
          return parts.join(' && ');
        };
        this.emit(`${ind}let numTaggedFields = 0;\n`);
        for (const f of taggedFields) this.emit(`${ind}if (${setCond(f)}) numTaggedFields++;\n`);
        this.emit(`${ind}w.writeUnsignedVarint(numTaggedFields);\n`);
        for (const f of taggedFields) {
          const tv = this.taggedVersionsOf(f, ctx);
          this.emit(`${ind}if (${setCond(f)}) {\n`);
          this.emit(`${ind}  const tw = new Writer(64);\n`);
          this.emit(`${ind}  const _${f.prop} = m.${f.prop}${this.isOptional(f, ctx) ? ` as ${this.fieldTsType(f)}` : ''};\n`);
          this.emitWriteValue(f, `_${f.prop}`, 'tw', tv, true, `${ind}  `);
          this.emit(`${ind}  w.writeUnsignedVarint(${f.tag});\n`);
          this.emit(`${ind}  w.writeUnsignedVarint(tw.length);\n`);
          this.emit(`${ind}  w.writeWriter(tw);\n`);
          this.emit(`${ind}}\n`);
        }
      }
      if (flexCond !== true) this.emit(`  }\n`);
    }
    this.emit(`}\n\n`);
  }

  // --- interfaces and makers ---------------------------------------------------------------------------

  private emitInterface(tsName: string, fields: FieldSpec[], ctx: VersionRange, about: string): void {
    if (about) this.emit(docComment('', [about]));
    this.emit(`export interface ${tsName} {\n`);
    for (const f of fields) {
      const lines: string[] = [];
      const present = intersect(f.versions, ctx);
      const optional = this.isOptional(f, ctx);
      const notes: string[] = [];
      if (optional) notes.push(`Versions ${formatRange(present)}.`);
      const tv = this.taggedVersionsOf(f, ctx);
      if (!isEmpty(tv)) notes.push(`Tagged (tag ${f.tag}) in versions ${formatRange(tv)}.`);
      const nv = intersect(f.nullableVersions, present);
      if (!isEmpty(nv) && !covers(nv, present)) notes.push(`Nullable in versions ${formatRange(nv)}.`);
      if (f.ignorable) notes.push('Ignorable.');
      if (f.default !== undefined) notes.push(`Default ${JSON.stringify(f.default)}.`);
      lines.push(f.about);
      if (notes.length > 0) lines.push(notes.join(' '));
      this.emit(docComment('  ', lines.length > 0 ? lines : [f.name]));
      this.emit(`  ${f.prop}${optional ? '?' : ''}: ${this.fieldTsType(f)};\n`);
    }
    this.emit(`}\n\n`);
  }

  private emitMaker(tsName: string, fields: FieldSpec[]): void {
    this.emit(`export function make${tsName}(): ${tsName} {\n`);
    if (fields.length === 0) {
      this.emit(`  return {};\n}\n\n`);
      return;
    }
    this.emit(`  return {\n`);
    for (const f of fields) this.emit(`    ${f.prop}: ${this.defaultExpr(f)},\n`);
    this.emit(`  };\n}\n\n`);
  }

  private emitIsDefault(structName: string): void {
    const info = this.structs.get(structName)!;
    const parts: string[] = [];
    for (const f of info.fields) {
      const v = `s.${f.prop}`;
      const opt = this.isOptional(f, info.ctx);
      parts.push(opt ? `(${v} === undefined || ${this.isDefaultExpr(f, v)})` : `(${this.isDefaultExpr(f, v)})`);
    }
    this.emit(`function isDefault${info.tsName}(s: ${info.tsName}): boolean {\n`);
    this.emit(`  return ${parts.length === 0 ? 'true' : parts.join(' &&\n    ')};\n}\n\n`);
  }

  generate(): string {
    const spec = this.spec;
    const ctx = spec.validVersions;
    this.emit(`// ---- ${spec.name} (${spec.file}): versions ${formatRange(ctx)}, flexible ${formatRange(spec.flexibleVersions)}\n\n`);
    this.emitInterface(spec.name, spec.fields, ctx, `${spec.name}, versions ${formatRange(ctx)}.`);
    for (const info of this.structs.values()) this.emitInterface(info.tsName, info.fields, info.ctx, '');
    this.emitMaker(spec.name, spec.fields);
    for (const info of this.structs.values()) this.emitMaker(info.tsName, info.fields);
    this.emitReader(spec.name, spec.fields, ctx, true);
    for (const info of this.structs.values()) this.emitReader(info.tsName, info.fields, info.ctx, false);
    this.emitWriter(spec.name, spec.fields, ctx, true);
    for (const info of this.structs.values()) this.emitWriter(info.tsName, info.fields, info.ctx, false);
    // isDefault helpers, including the ones they need in turn.
    const done = new Set<string>();
    for (;;) {
      const next = [...this.needIsDefault].find((n) => !done.has(n));
      if (next === undefined) break;
      done.add(next);
      this.emitIsDefault(next);
    }
    return this.out;
  }
}

interface ApiEntry {
  apiKey: number;
  name: string;
  module: string;
  request: MessageSpec;
  response: MessageSpec;
}

function moduleHeader(sources: string[], body: string): string {
  const uses = (s: string): boolean => new RegExp(`\\b${s}\\b`).test(body);
  const readerImports = ['ProtocolDecodeError', 'Reader'].filter((s) => uses(s));
  const writerImports = ['ProtocolEncodeError', 'Writer', 'isZeroUuid'].filter((s) => uses(s));
  let out = BANNER(sources.join(', '));
  out += `/* eslint-disable */\n`;
  if (readerImports.length > 0) out += `import { ${readerImports.join(', ')} } from '../reader.js';\n`;
  if (writerImports.length > 0) out += `import { ${writerImports.join(', ')} } from '../writer.js';\n`;
  return out + '\n' + body.trimEnd() + '\n';
}

/** Generates every output file: file name → contents. */
export function generate(schemaDir: string): Map<string, string> {
  const specs = loadSchemas(schemaDir);
  const files = new Map<string, string>();
  const requests = new Map<number, MessageSpec>();
  const responses = new Map<number, MessageSpec>();
  for (const s of specs) {
    if (s.type === 'header') {
      const g = new MessageGenerator(s, new Set());
      files.set(`${toKebab(s.name)}.ts`, moduleHeader([s.file], g.generate()));
    } else if (s.type === 'request') {
      requests.set(s.apiKey!, s);
    } else {
      responses.set(s.apiKey!, s);
    }
  }
  const apis: ApiEntry[] = [];
  for (const [apiKey, request] of [...requests].sort((a, b) => a[0] - b[0])) {
    const response = responses.get(apiKey);
    if (!response) throw new Error(`no response schema for api key ${apiKey}`);
    const name = request.name.replace(/Request$/, '');
    if (response.name !== `${name}Response`) throw new Error(`response name mismatch for ${request.name}`);
    const module = toKebab(name);
    apis.push({ apiKey, name, module, request, response });
    const taken = new Set<string>();
    const body = new MessageGenerator(request, taken).generate() + new MessageGenerator(response, taken).generate();
    files.set(`${module}.ts`, moduleHeader([request.file, response.file], body));
  }
  for (const apiKey of responses.keys()) {
    if (!requests.has(apiKey)) throw new Error(`no request schema for api key ${apiKey}`);
  }
  files.set('index.ts', generateIndex(apis));
  return files;
}

function generateIndex(apis: ApiEntry[]): string {
  let out = BANNER('all *Request.json / *Response.json');
  out += `import type { Reader } from '../reader.js';\nimport type { Writer } from '../writer.js';\n`;
  for (const a of apis) out += `import * as ${camel(a.name)} from './${a.module}.js';\n`;
  out += `\n/** Every API key in the schemas, by API name. */\nexport const ApiKey = {\n`;
  for (const a of apis) out += `  ${a.name}: ${a.apiKey},\n`;
  out += `} as const;\n\nexport type ApiKeyName = keyof typeof ApiKey;\n\n`;
  out += `export interface ApiCodec {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** First flexible version, or Infinity when none. */
  flexibleMinVersion: number;
  /** The highest version is not final (e.g. KIP-932 share groups); do not advertise it. */
  latestVersionUnstable: boolean;
  makeRequest(): any;
  makeResponse(): any;
  readRequest(r: Reader, v: number): any;
  writeRequest(w: Writer, v: number, m: any): void;
  readResponse(r: Reader, v: number): any;
  writeResponse(w: Writer, v: number, m: any): void;
}

export const API_CODECS: ReadonlyMap<number, ApiCodec> = new Map<number, ApiCodec>([
`;
  for (const a of apis) {
    const ns = camel(a.name);
    const flexMin = isEmpty(a.request.flexibleVersions) ? 'Infinity' : String(a.request.flexibleVersions.lo);
    out += `  [${a.apiKey}, {
    apiKey: ${a.apiKey},
    name: '${a.name}',
    minVersion: ${a.request.validVersions.lo},
    maxVersion: ${a.request.validVersions.hi},
    flexibleMinVersion: ${flexMin},
    latestVersionUnstable: ${a.request.latestVersionUnstable},
    makeRequest: ${ns}.make${a.request.name},
    makeResponse: ${ns}.make${a.response.name},
    readRequest: ${ns}.read${a.request.name},
    writeRequest: ${ns}.write${a.request.name},
    readResponse: ${ns}.read${a.response.name},
    writeResponse: ${ns}.write${a.response.name},
  }],
`;
  }
  out += `]);\n`;
  return out;
}

function camel(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

function main(): void {
  const [schemaDir, outDirArg] = process.argv.slice(2);
  if (!schemaDir) {
    console.error('usage: tsx scripts/generate-protocol.ts <schemaDir> [outDir]');
    process.exit(2);
  }
  const outDir = outDirArg ?? 'src/protocol/generated';
  const files = generate(schemaDir);
  fs.mkdirSync(outDir, { recursive: true });
  // Remove stale generated modules so a renamed API does not linger.
  for (const f of fs.readdirSync(outDir)) {
    if (f.endsWith('.ts') && !files.has(f)) fs.unlinkSync(path.join(outDir, f));
  }
  for (const [name, text] of files) fs.writeFileSync(path.join(outDir, name), text);
  console.log(`wrote ${files.size} files to ${outDir}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
