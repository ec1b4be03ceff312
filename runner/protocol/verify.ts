/**
 * Bounds verifier for the FlatBuffers tables of the ext-plugin wire.
 *
 * The `flatbuffers` npm runtime has no verifier: an out-of-range read yields
 * `undefined`-derived garbage and a string or vector view is silently truncated
 * (protocol reference 12). Every decoder therefore runs {@link verifyPayload}
 * first; once it passes, every generated accessor the codec calls stays inside
 * the payload.
 *
 * The checks mirror what the generated accessors read and how they read it
 * (`ByteBuffer.__offset`, `__vector`, `__indirect`, `__string`, `__union`): vtable
 * lengths and field offsets are read as signed 16-bit integers, soffsets and
 * uoffsets as signed 32-bit integers, exactly as the runtime does, so a value the
 * runtime would interpret differently from us cannot slip through.
 *
 * What is checked, per table: the table start and its soffset lie in the buffer;
 * the vtable lies in the buffer, its length is even and at least 4; the table's
 * inline size is at least 4 and lies in the buffer; each present field the layout
 * knows lies inside the inline size; strings and vectors have their 4-byte length
 * and `length * elementSize` bytes inside the buffer; vectors of tables have every
 * element verified; unions have a known tag (or are declared opaque) and the
 * member table verified. Fields the layout does not know (a newer gateway's
 * additions) are ignored, as FlatBuffers forward compatibility intends.
 *
 * Deliberately not checked:
 * - alignment: this runtime reads every integer byte by byte, so a misaligned
 *   offset still reads the intended value; rejecting it would only add a failure
 *   mode the gateway's builder never triggers and no other runner has;
 * - the NUL after a string: the gateway's builder writes it, but nothing here
 *   reads it, so its absence is tolerated.
 *
 * The walker allocates nothing on the happy path; messages are built only when a
 * check fails.
 */
import { assertNever, ErrorCode, RunnerError } from '../errors.js';
import { readInt32, readUint16 } from './table-reads.js';

/** How one field of a table is stored; the array index in a layout is the field id. */
export type FieldSpec =
  | { readonly kind: 'scalar'; readonly name: string; readonly size: 1 | 2 | 4 | 8 }
  | { readonly kind: 'string'; readonly name: string; readonly required?: boolean }
  | { readonly kind: 'bytes'; readonly name: string }
  | { readonly kind: 'tables'; readonly name: string; readonly table: TableLayout }
  | { readonly kind: 'table'; readonly name: string; readonly table: TableLayout }
  | { readonly kind: 'union_type'; readonly name: string }
  | { readonly kind: 'union'; readonly name: string; readonly union: UnionLayout };

/**
 * Layout of one table: `fields[id]` describes field id `id` (vtable slot
 * `4 + 2 * id`). Build it with {@link defineTable}.
 */
export interface TableLayout {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /**
   * The same fields flattened into one object shape, so the walker's property
   * reads stay monomorphic (the declarative union above has seven shapes).
   */
  readonly compiled: readonly CompiledField[];
}

const Kind = { Scalar: 0, String: 1, Bytes: 2, Tables: 3, Table: 4, UnionType: 5, Union: 6 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/** One field in the walker's form; see {@link TableLayout.compiled}. */
export interface CompiledField {
  readonly kind: Kind;
  readonly name: string;
  /** Bytes the field occupies inside the table. */
  readonly inlineBytes: number;
  readonly required: boolean;
  readonly table: TableLayout | null;
  readonly union: UnionLayout | null;
}

/** Builds a {@link TableLayout} from its declarative field list. */
export function defineTable(name: string, fields: readonly FieldSpec[]): TableLayout {
  const compiled = fields.map((spec, id): CompiledField => {
    switch (spec.kind) {
      case 'scalar':
        return compiledField(Kind.Scalar, spec.name, spec.size, false, null, null);
      case 'string':
        return compiledField(Kind.String, spec.name, 4, spec.required === true, null, null);
      case 'bytes':
        return compiledField(Kind.Bytes, spec.name, 4, false, null, null);
      case 'tables':
        return compiledField(Kind.Tables, spec.name, 4, false, spec.table, null);
      case 'table':
        return compiledField(Kind.Table, spec.name, 4, false, spec.table, null);
      case 'union_type':
        return compiledField(Kind.UnionType, spec.name, 1, false, null, null);
      case 'union':
        if (id === 0 || fields[id - 1]?.kind !== 'union_type') {
          throw new TypeError(`${name}.${spec.name}: a union field must follow its union_type field`);
        }
        return compiledField(Kind.Union, spec.name, 4, false, null, spec.union);
      default:
        return assertNever(spec);
    }
  });
  return { name, fields, compiled };
}

function compiledField(
  kind: Kind,
  name: string,
  inlineBytes: number,
  required: boolean,
  table: TableLayout | null,
  union: UnionLayout | null,
): CompiledField {
  return { kind, name, inlineBytes, required, table, union };
}

/**
 * A union's members: `members[tag - 1]` is the table for `tag` (tag 0 is NONE).
 * The tag lives in the field right before the union value field.
 */
export interface UnionLayout {
  readonly name: string;
  readonly members: readonly TableLayout[];
  /**
   * `true`: an unknown tag is accepted and its value is left unverified, so the
   * decoder must not read it (used where the consumer reports unknown tags itself).
   * `false`: an unknown tag makes the buffer malformed.
   */
  readonly opaqueUnknownTags: boolean;
}

// ---- layouts of the ext-plugin schema (runner/protocol/ext-plugin.fbs) -------------

/**
 * `A6.TextEntry`. `name` is required by this verifier although the schema marks
 * nothing required: the gateway always writes it, and an entry without a name
 * cannot mean anything (and the decoded shape has no way to say "absent name").
 */
export const TEXT_ENTRY = defineTable('TextEntry', [
    { kind: 'string', name: 'name', required: true },
    { kind: 'string', name: 'value' },
  ]);

export const ERR_RESP = defineTable('Err.Resp', [{ kind: 'scalar', name: 'code', size: 1 }]);

export const PREPARE_CONF_REQ = defineTable('PrepareConf.Req', [
    { kind: 'tables', name: 'conf', table: TEXT_ENTRY },
    { kind: 'string', name: 'key' },
  ]);

export const PREPARE_CONF_RESP = defineTable('PrepareConf.Resp', [{ kind: 'scalar', name: 'conf_token', size: 4 }]);

export const HTTP_REQ_CALL_REQ = defineTable('HTTPReqCall.Req', [
    { kind: 'scalar', name: 'id', size: 4 },
    { kind: 'bytes', name: 'src_ip' },
    { kind: 'scalar', name: 'method', size: 1 },
    { kind: 'string', name: 'path' },
    { kind: 'tables', name: 'args', table: TEXT_ENTRY },
    { kind: 'tables', name: 'headers', table: TEXT_ENTRY },
    { kind: 'scalar', name: 'conf_token', size: 4 },
  ]);

export const HTTP_REQ_CALL_STOP = defineTable('HTTPReqCall.Stop', [
    { kind: 'scalar', name: 'status', size: 2 },
    { kind: 'tables', name: 'headers', table: TEXT_ENTRY },
    { kind: 'bytes', name: 'body' },
  ]);

export const HTTP_REQ_CALL_REWRITE = defineTable('HTTPReqCall.Rewrite', [
    { kind: 'string', name: 'path' },
    { kind: 'tables', name: 'headers', table: TEXT_ENTRY },
    { kind: 'tables', name: 'args', table: TEXT_ENTRY },
    { kind: 'tables', name: 'resp_headers', table: TEXT_ENTRY },
    { kind: 'bytes', name: 'body' },
  ]);

export const HTTP_REQ_CALL_RESP = defineTable('HTTPReqCall.Resp', [
    { kind: 'scalar', name: 'id', size: 4 },
    { kind: 'union_type', name: 'action_type' },
    {
      kind: 'union',
      name: 'action',
      union: { name: 'Action', members: [HTTP_REQ_CALL_STOP, HTTP_REQ_CALL_REWRITE], opaqueUnknownTags: false },
    },
  ]);

export const EXTRA_INFO_VAR = defineTable('ExtraInfo.Var', [{ kind: 'string', name: 'name', required: true }]);
export const EXTRA_INFO_REQ_BODY = defineTable('ExtraInfo.ReqBody', []);
export const EXTRA_INFO_RESP_BODY = defineTable('ExtraInfo.RespBody', []);

/** `A6.ExtraInfo.Req`; unknown tags are opaque so the gateway side can report them as such. */
export const EXTRA_INFO_REQ = defineTable('ExtraInfo.Req', [
    { kind: 'union_type', name: 'info_type' },
    {
      kind: 'union',
      name: 'info',
      union: {
        name: 'Info',
        members: [EXTRA_INFO_VAR, EXTRA_INFO_REQ_BODY, EXTRA_INFO_RESP_BODY],
        opaqueUnknownTags: true,
      },
    },
  ]);

export const EXTRA_INFO_RESP = defineTable('ExtraInfo.Resp', [{ kind: 'bytes', name: 'result' }]);

export const HTTP_RESP_CALL_REQ = defineTable('HTTPRespCall.Req', [
    { kind: 'scalar', name: 'id', size: 4 },
    { kind: 'scalar', name: 'status', size: 2 },
    { kind: 'tables', name: 'headers', table: TEXT_ENTRY },
    { kind: 'scalar', name: 'conf_token', size: 4 },
  ]);

export const HTTP_RESP_CALL_RESP = defineTable('HTTPRespCall.Resp', [
    { kind: 'scalar', name: 'id', size: 4 },
    { kind: 'scalar', name: 'status', size: 2 },
    { kind: 'tables', name: 'headers', table: TEXT_ENTRY },
    { kind: 'bytes', name: 'body' },
  ]);

// ---- the walker --------------------------------------------------------------

const UOFFSET_BYTES = 4;
const VTABLE_HEADER_BYTES = 4;
const MAX_INT16 = 0x7fff;

/**
 * Verifies that `payload` is a FlatBuffers buffer whose root table has `layout`
 * and that every read the generated accessors make for the known fields stays in
 * bounds.
 *
 * @throws RunnerError `PROTOCOL_MALFORMED` naming the table, field and position.
 */
export function verifyPayload(payload: Uint8Array, layout: TableLayout): void {
  if (payload.length < UOFFSET_BYTES) {
    fail(`${layout.name}: payload of ${payload.length} bytes cannot hold a root offset`);
  }
  const root = readInt32(payload, 0);
  if (root < UOFFSET_BYTES) {
    fail(`${layout.name}: root table offset ${root} points outside the buffer`);
  }
  verifyTable(payload, root, layout);
}

function verifyTable(b: Uint8Array, table: number, layout: TableLayout): void {
  const len = b.length;
  if (table < 0 || table > len - UOFFSET_BYTES) {
    fail(`${layout.name}: table at ${table} does not fit in ${len} bytes`);
  }
  const vtable = table - readInt32(b, table);
  if (vtable < 0 || vtable > len - VTABLE_HEADER_BYTES) {
    fail(`${layout.name}: vtable of table at ${table} is at ${vtable}, outside ${len} bytes`);
  }
  const vtableBytes = readInt16(b, vtable);
  if (vtableBytes < VTABLE_HEADER_BYTES || (vtableBytes & 1) !== 0 || vtable + vtableBytes > len) {
    fail(`${layout.name}: vtable at ${vtable} has invalid length ${vtableBytes}`);
  }
  const inlineBytes = readUint16(b, vtable + 2);
  if (inlineBytes < UOFFSET_BYTES || table + inlineBytes > len) {
    fail(`${layout.name}: table at ${table} has invalid inline size ${inlineBytes}`);
  }

  const fields = layout.compiled;
  for (let id = 0; id < fields.length; id++) {
    const spec = fields[id]!;
    const slot = VTABLE_HEADER_BYTES + 2 * id;
    const fieldOffset = slot < vtableBytes ? readInt16(b, vtable + slot) : 0;
    if (fieldOffset === 0) {
      if (spec.required) {
        fail(`${layout.name}.${spec.name}: required field is absent (table at ${table})`);
      }
      if (spec.union !== null) {
        // A known, non-NONE tag without its table would make the generated union
        // accessor hand back null where every consumer expects a table.
        const tag = readUnionTag(b, table, vtable, vtableBytes, inlineBytes, id - 1, layout);
        if (tag !== 0) {
          if (spec.union.members[tag - 1] !== undefined) {
            fail(`${layout.name}.${spec.name}: ${spec.union.name} tag ${tag} without its table (table at ${table})`);
          }
          if (!spec.union.opaqueUnknownTags) {
            fail(`${layout.name}.${spec.name}: unknown ${spec.union.name} tag ${tag} (table at ${table})`);
          }
        }
      }
      continue;
    }
    // A negative (int16) offset already fails `< UOFFSET_BYTES`; staying within the
    // inline size keeps the field inside the buffer because the table is.
    if (fieldOffset < UOFFSET_BYTES || fieldOffset + spec.inlineBytes > inlineBytes) {
      fail(`${layout.name}.${spec.name}: field offset ${fieldOffset} outside the table's ${inlineBytes} bytes (table at ${table})`);
    }
    const at = table + fieldOffset;
    switch (spec.kind) {
      case Kind.Scalar:
      case Kind.UnionType:
        break;
      case Kind.String:
      case Kind.Bytes:
        verifyVector(b, target(b, at, layout, spec.name), 1, layout, spec.name);
        break;
      case Kind.Tables: {
        const start = verifyVector(b, target(b, at, layout, spec.name), UOFFSET_BYTES, layout, spec.name);
        const count = readInt32(b, start - UOFFSET_BYTES);
        const element = spec.table!;
        for (let i = 0; i < count; i++) {
          verifyTable(b, target(b, start + i * UOFFSET_BYTES, layout, spec.name), element);
        }
        break;
      }
      case Kind.Table:
        verifyTable(b, target(b, at, layout, spec.name), spec.table!);
        break;
      case Kind.Union:
        verifyUnion(b, table, vtable, vtableBytes, inlineBytes, id, at, layout, spec.name, spec.union!);
        break;
    }
  }
}

function verifyUnion(
  b: Uint8Array,
  table: number,
  vtable: number,
  vtableBytes: number,
  inlineBytes: number,
  valueId: number,
  valueAt: number,
  layout: TableLayout,
  name: string,
  union: UnionLayout,
): void {
  const tag = readUnionTag(b, table, vtable, vtableBytes, inlineBytes, valueId - 1, layout);
  if (tag === 0) {
    // NONE: the value is never read, whatever it points at.
    return;
  }
  const member = union.members[tag - 1];
  if (member === undefined) {
    if (union.opaqueUnknownTags) {
      return;
    }
    fail(`${layout.name}.${name}: unknown ${union.name} tag ${tag} (table at ${table})`);
  }
  verifyTable(b, target(b, valueAt, layout, name), member);
}

/** Reads a union's ubyte tag, already bounds-checked by the field loop or absent (0). */
function readUnionTag(
  b: Uint8Array,
  table: number,
  vtable: number,
  vtableBytes: number,
  inlineBytes: number,
  typeId: number,
  layout: TableLayout,
): number {
  const slot = VTABLE_HEADER_BYTES + 2 * typeId;
  const offset = slot < vtableBytes ? readInt16(b, vtable + slot) : 0;
  if (offset === 0) {
    return 0;
  }
  if (offset < UOFFSET_BYTES || offset + 1 > inlineBytes) {
    fail(`${layout.name}: union tag offset ${offset} outside the table (table at ${table})`);
  }
  return b[table + offset]!;
}

/**
 * Follows the uoffset stored at `at` (already known to be inside the buffer).
 * uoffsets always point forward; the runtime reads them as signed, so a value
 * with the top bit set would point backwards there and is rejected here.
 */
function target(b: Uint8Array, at: number, layout: TableLayout, name: string): number {
  const offset = readInt32(b, at);
  if (offset <= 0 || at + offset > b.length - UOFFSET_BYTES) {
    fail(`${layout.name}.${name}: offset ${offset} at ${at} points outside ${b.length} bytes`);
  }
  return at + offset;
}

/**
 * Checks the length prefix at `vector` and that `length * elementBytes` bytes
 * follow inside the buffer; returns the position of the first element.
 */
function verifyVector(b: Uint8Array, vector: number, elementBytes: number, layout: TableLayout, name: string): number {
  const count = readInt32(b, vector);
  const start = vector + UOFFSET_BYTES;
  // count <= 2^31 and elementBytes <= 4, so the product is exact in a double.
  if (count < 0 || count * elementBytes > b.length - start) {
    fail(`${layout.name}.${name}: vector at ${vector} announces ${count} elements of ${elementBytes} bytes, beyond ${b.length} bytes`);
  }
  return start;
}

/** Signed, as `ByteBuffer.readInt16` reads vtable entries; values above 0x7fff turn negative. */
function readInt16(b: Uint8Array, at: number): number {
  const v = readUint16(b, at);
  return v > MAX_INT16 ? v - 0x10000 : v;
}

function fail(message: string): never {
  throw new RunnerError(ErrorCode.PROTOCOL_MALFORMED, message);
}
