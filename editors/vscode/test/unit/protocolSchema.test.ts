/**
 * `src/protocol.ts` against `docs/protocol.schema.json`, the JSON Schema the
 * server's protocol crate (server/protocol) generates: the same methods and
 * notifications, and for each the same params and result properties, with
 * the same optionality and (loosely) the same types. Reads protocol.ts with
 * the TypeScript compiler API; needs no `atmos` binary.
 *
 * Where the mirror deliberately differs from the schema, the difference is
 * in ALLOWED below, with its reason; an entry that no longer matches any
 * difference fails the test too.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { METHODS, PROTOCOL_VERSION } from "../../src/protocol";

/** The repository root: this file runs from editors/vscode/out/unit/. */
const REPO = path.resolve(__dirname, "..", "..", "..", "..");
const SCHEMA_FILE = path.join(REPO, "docs", "protocol.schema.json");
const PROTOCOL_FILE = path.join(REPO, "editors", "vscode", "src", "protocol.ts");

/**
 * Known, deliberate differences, as `SchemaDef.property: what` (the def the
 * property is in, as the failures name it; what: missing, extra, optionality
 * or type). Keep this short, and say why for each.
 */
const ALLOWED: Record<string, string> = {
  // The server echoes the request's `token` as given (any JSON value); this
  // client only sends the `string | number` that ChatParams.token allows.
  "ChatDeltaParams.token: type": "an echo of ChatParams.token, which this client types as string | number",
};

/** The schema's string enums and the string-literal unions of protocol.ts that spell them. */
const ENUMS: Record<string, string> = {
  Role: "Role",
  ChangeReason: "SessionsChangedReason",
  CompactStage: "CompactStage",
  ContextKind: "ContextKind",
};

// ---------------------------------------------------------------------------
// The schema

type Schema = boolean | SchemaObject;
interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
}
interface ProtocolSchema {
  protocolVersion: number;
  methods: Record<string, { params: Schema; result: Schema }>;
  notifications: Record<string, { params: Schema }>;
  $defs: Record<string, Schema>;
}

const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as ProtocolSchema;

function refName(ref: string): string {
  const prefix = "#/$defs/";
  assert.ok(ref.startsWith(prefix), `unsupported $ref ${ref}`);
  const name = ref.slice(prefix.length);
  assert.ok(name in schema.$defs, `$ref to a missing def: ${ref}`);
  return name;
}

/** A method's or notification's params or result: a `$ref` to a def. */
function topDef(s: Schema): { name: string; def: Schema } {
  assert.ok(typeof s === "object" && s.$ref !== undefined, `expected a $ref, got ${JSON.stringify(s)}`);
  const name = refName(s.$ref);
  return { name, def: schema.$defs[name] };
}

/** An object schema's properties and required names, through `$ref` and `allOf`. */
function objectShape(s: Schema): { properties: Map<string, Schema>; required: Set<string> } {
  const properties = new Map<string, Schema>();
  const required = new Set<string>();
  const visit = (x: Schema): void => {
    if (typeof x !== "object") {
      return;
    }
    if (x.$ref !== undefined) {
      visit(schema.$defs[refName(x.$ref)]);
    }
    for (const part of x.allOf ?? []) {
      visit(part);
    }
    for (const [name, p] of Object.entries(x.properties ?? {})) {
      properties.set(name, p);
    }
    for (const name of x.required ?? []) {
      required.add(name);
    }
  };
  visit(s);
  return { properties, required };
}

type Kind = "string" | "number" | "boolean" | "null" | "array" | "object";

interface SchemaInfo {
  /** No constraint: any JSON value. */
  any: boolean;
  kinds: Set<Kind>;
  /** The members of a string enum. */
  literals: Set<string>;
  items: Schema[];
  /** Object schemas, named by their def (or by where they are, inline). */
  objects: { name: string; schema: Schema }[];
}

function schemaInfo(s: Schema, where: string): SchemaInfo {
  const info: SchemaInfo = { any: false, kinds: new Set(), literals: new Set(), items: [], objects: [] };
  const visit = (x: Schema, name: string): void => {
    if (x === true) {
      info.any = true;
      return;
    }
    if (x === false) {
      return;
    }
    if (x.$ref !== undefined) {
      const def = refName(x.$ref);
      visit(schema.$defs[def], def);
      return;
    }
    for (const alt of [...(x.anyOf ?? []), ...(x.oneOf ?? [])]) {
      visit(alt, name);
    }
    if (x.enum !== undefined) {
      for (const v of x.enum) {
        assert.equal(typeof v, "string", `${name}: only string enums are supported`);
        info.literals.add(v as string);
      }
      info.kinds.add("string");
    }
    const types = x.type === undefined ? [] : Array.isArray(x.type) ? x.type : [x.type];
    if (types.length === 0 && (x.properties !== undefined || x.allOf !== undefined)) {
      types.push("object");
    }
    for (const t of types) {
      switch (t) {
        case "string":
        case "boolean":
        case "null":
          info.kinds.add(t);
          break;
        case "integer":
        case "number":
          info.kinds.add("number");
          break;
        case "array":
          info.kinds.add("array");
          if (x.items !== undefined) {
            info.items.push(x.items);
          }
          break;
        case "object":
          info.kinds.add("object");
          info.objects.push({ name, schema: x });
          break;
        default:
          assert.fail(`${name}: unsupported schema type ${t}`);
      }
    }
    if (x.enum === undefined && types.length === 0 && x.anyOf === undefined && x.oneOf === undefined) {
      info.any = true; // e.g. `{ "description": "…" }` alone
    }
  };
  visit(s, where);
  return info;
}

// ---------------------------------------------------------------------------
// protocol.ts

const program = ts.createProgram([PROTOCOL_FILE], {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  skipLibCheck: true,
  noEmit: true,
  types: [],
});
const checker = program.getTypeChecker();
const source = program.getSourceFile(PROTOCOL_FILE)!;

interface Declared {
  method: string;
  /** The exported constant, e.g. `SessionCreate`. */
  constant: string;
  typeArgs: readonly ts.TypeNode[];
}

/** The `new RequestType<P, R, void>("atmos/…")` and `new NotificationType<P>("atmos/…")` constants. */
function declared(kind: "RequestType" | "NotificationType"): Declared[] {
  const found: Declared[] = [];
  for (const stmt of source.statements) {
    if (!ts.isVariableStatement(stmt)) {
      continue;
    }
    for (const decl of stmt.declarationList.declarations) {
      const init = decl.initializer;
      if (
        init !== undefined &&
        ts.isNewExpression(init) &&
        ts.isIdentifier(init.expression) &&
        init.expression.text === kind &&
        init.arguments?.length === 1 &&
        ts.isStringLiteral(init.arguments[0]) &&
        init.arguments[0].text.startsWith("atmos/")
      ) {
        found.push({ method: init.arguments[0].text, constant: decl.name.getText(source), typeArgs: init.typeArguments ?? [] });
      }
    }
  }
  return found;
}

const requests = declared("RequestType");
const notifications = declared("NotificationType");

interface TsInfo {
  any: boolean;
  kinds: Set<Kind>;
  literals: Set<string>;
  /** Some member is `string` itself, not a literal. */
  anyString: boolean;
  items: ts.Type[];
  objects: ts.Type[];
}

function tsInfo(types: readonly ts.Type[]): TsInfo {
  const info: TsInfo = { any: false, kinds: new Set(), literals: new Set(), anyString: false, items: [], objects: [] };
  const visit = (t: ts.Type): void => {
    const f = t.flags;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) {
      info.any = true;
    } else if (f & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) {
      // optional: compared as optionality
    } else if (f & ts.TypeFlags.Null) {
      info.kinds.add("null");
    } else if (t.isUnion()) {
      t.types.forEach(visit);
    } else if (t.isStringLiteral()) {
      info.kinds.add("string");
      info.literals.add(t.value);
    } else if (f & ts.TypeFlags.StringLike) {
      info.kinds.add("string");
      info.anyString = true;
    } else if (f & ts.TypeFlags.NumberLike) {
      info.kinds.add("number");
    } else if (f & ts.TypeFlags.BooleanLike) {
      info.kinds.add("boolean");
    } else if (checker.isArrayType(t)) {
      info.kinds.add("array");
      info.items.push(checker.getTypeArguments(t as ts.TypeReference)[0]);
    } else if (f & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) {
      info.kinds.add("object");
      info.objects.push(t);
    } else {
      assert.fail(`unsupported TypeScript type ${checker.typeToString(t)}`);
    }
  };
  types.forEach(visit);
  return info;
}

/**
 * An object type's properties. A union of objects (`Target & { … }`) has
 * each property of any member; it is optional unless every member has it
 * required.
 */
function tsProperties(t: ts.Type): Map<string, { optional: boolean; types: ts.Type[] }> {
  const members = t.isUnion() ? t.types : [t];
  const props = new Map<string, { optional: boolean; types: ts.Type[]; count: number }>();
  for (const m of members) {
    for (const sym of checker.getPropertiesOfType(m)) {
      const p = props.get(sym.name) ?? { optional: false, types: [], count: 0 };
      p.optional ||= (sym.flags & ts.SymbolFlags.Optional) !== 0;
      p.types.push(checker.getTypeOfSymbol(sym));
      p.count += 1;
      props.set(sym.name, p);
    }
  }
  return new Map([...props].map(([name, p]) => [name, { optional: p.optional || p.count < members.length, types: p.types }]));
}

// ---------------------------------------------------------------------------
// The comparison

/** Params go client → server ("in": TS may be narrower); results and notifications server → client ("out": TS must take all the server sends). */
type Direction = "in" | "out";

type What = "missing" | "extra" | "optionality" | "type";

interface Difference {
  /** `SchemaDef.property: what`, the key of ALLOWED. */
  key: string;
  message: string;
}

const show = (s: Iterable<string>): string => [...s].sort().join(" | ") || "nothing";

class Comparison {
  readonly differences: Difference[] = [];
  private readonly seen = new Set<string>();

  private report(key: string, what: What, where: string, message: string): void {
    this.differences.push({ key: `${key}: ${what}`, message: `${key}: ${what} (${where}): ${message}` });
  }

  /** A schema object def against a TypeScript object type, property by property. */
  object(def: string, s: Schema, t: ts.Type, dir: Direction, where: string): void {
    const tsName = checker.typeToString(t);
    const seenKey = `${def}|${tsName}|${dir}`;
    if (this.seen.has(seenKey)) {
      return;
    }
    this.seen.add(seenKey);
    const shape = objectShape(s);
    const props = tsProperties(t);
    const names = new Set([...shape.properties.keys(), ...props.keys()]);
    for (const name of [...names].sort()) {
      const key = `${def}.${name}`;
      const sp = shape.properties.get(name);
      const tp = props.get(name);
      if (sp === undefined) {
        this.report(key, "extra", where, `${tsName} has "${name}", the schema does not`);
        continue;
      }
      if (tp === undefined) {
        this.report(key, "missing", where, `the schema has "${name}", ${tsName} does not`);
        continue;
      }
      const required = shape.required.has(name);
      if (tp.optional === required) {
        this.report(
          key,
          "optionality",
          where,
          `"${name}" is ${required ? "required" : "optional"} in the schema but ${tp.optional ? "optional (?)" : "required"} in ${tsName}`,
        );
      }
      this.value(key, sp, tp.types, dir, required || !tp.optional, where);
    }
  }

  /**
   * One value's types, loosely: kinds, null, enum members, then array items
   * and objects. `present`: the value is always there (required in the
   * schema or in TypeScript), so a null the schema allows is really sent.
   */
  private value(key: string, s: Schema, types: readonly ts.Type[], dir: Direction, present: boolean, where: string): void {
    const si = schemaInfo(s, key);
    const ti = tsInfo(types);
    const tsText = types.map((t) => checker.typeToString(t)).join(" | ");
    if (si.any) {
      if (dir === "out" && !ti.any) {
        this.report(key, "type", where, `the server may send any JSON value; TypeScript has ${tsText}`);
      }
      return;
    }
    if (ti.any) {
      if (dir === "in") {
        this.report(key, "type", where, `TypeScript sends any value; the schema takes ${show(si.kinds)}`);
      }
      return;
    }
    const sk = new Set([...si.kinds].filter((k) => k !== "null"));
    const tk = new Set([...ti.kinds].filter((k) => k !== "null"));
    if (dir === "in") {
      for (const k of tk) {
        if (!sk.has(k)) {
          this.report(key, "type", where, `TypeScript may send ${k}; the schema takes ${show(si.kinds)}`);
        }
      }
      if (ti.kinds.has("null") && !si.kinds.has("null")) {
        this.report(key, "type", where, "TypeScript may send null; the schema does not take it");
      }
    } else {
      for (const k of sk) {
        if (!tk.has(k)) {
          this.report(key, "type", where, `the server may send ${k}; TypeScript has ${tsText}`);
        }
      }
      // The server leaves out an optional property rather than send null.
      if (present && si.kinds.has("null") && !ti.kinds.has("null")) {
        this.report(key, "type", where, `the server may send null; TypeScript has ${tsText}`);
      }
    }
    if (si.literals.size > 0) {
      const same = !ti.anyString && show(si.literals) === show(ti.literals);
      if (!same) {
        this.report(key, "type", where, `the schema's enum is ${show(si.literals)}; TypeScript has ${tsText}`);
      }
    } else if (dir === "out" && sk.has("string") && ti.literals.size > 0 && !ti.anyString) {
      this.report(key, "type", where, `the server may send any string; TypeScript allows only ${show(ti.literals)}`);
    }
    if (si.items.length > 0 && ti.items.length > 0) {
      for (const items of si.items) {
        this.value(`${key}[]`, items, ti.items, dir, true, where);
      }
    }
    for (const o of si.objects) {
      for (const t of ti.objects) {
        this.object(o.name, o.schema, t, dir, `${where} → ${key}`);
      }
    }
  }
}

function typeOf(node: ts.TypeNode): ts.Type {
  return checker.getTypeFromTypeNode(node);
}

/** Every difference, the allowed ones included, found once for all the tests. */
const comparison = new Comparison();
const methodDiffs: Difference[] = [];
const notificationDiffs: Difference[] = [];
{
  const before = (): number => comparison.differences.length;
  for (const r of requests) {
    const entry = schema.methods[r.method];
    if (entry === undefined) {
      continue; // reported by the method-set test
    }
    assert.equal(r.typeArgs.length, 3, `${r.constant}: expected RequestType<Params, Result, void>`);
    const params = topDef(entry.params);
    const result = topDef(entry.result);
    const start = before();
    comparison.object(params.name, params.def, typeOf(r.typeArgs[0]), "in", `${r.method} params`);
    comparison.object(result.name, result.def, typeOf(r.typeArgs[1]), "out", `${r.method} result`);
    methodDiffs.push(...comparison.differences.slice(start));
  }
  for (const n of notifications) {
    const entry = schema.notifications[n.method];
    if (entry === undefined) {
      continue;
    }
    assert.equal(n.typeArgs.length, 1, `${n.constant}: expected NotificationType<Params>`);
    const params = topDef(entry.params);
    const start = before();
    comparison.object(params.name, params.def, typeOf(n.typeArgs[0]), "out", `${n.method} params`);
    notificationDiffs.push(...comparison.differences.slice(start));
  }
}

const unexpected = (diffs: Difference[]): string[] => diffs.filter((d) => !(d.key in ALLOWED)).map((d) => d.message);

// ---------------------------------------------------------------------------

describe("protocol.ts mirrors docs/protocol.schema.json", () => {
  it("compiles on its own", () => {
    const diagnostics = ts.getPreEmitDiagnostics(program, source);
    assert.deepEqual(
      diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
      [],
    );
  });

  it("has the schema's protocol version", () => {
    assert.equal(PROTOCOL_VERSION, schema.protocolVersion);
  });

  it("declares a RequestType for exactly the schema's methods", () => {
    assert.deepEqual(requests.map((r) => r.method).sort(), Object.keys(schema.methods).sort());
    assert.deepEqual([...METHODS].sort(), Object.keys(schema.methods).sort(), "METHODS");
  });

  it("declares a NotificationType for exactly the schema's notifications", () => {
    assert.deepEqual(notifications.map((n) => n.method).sort(), Object.keys(schema.notifications).sort());
  });

  it("types each method's params and result with the schema's properties", () => {
    assert.deepEqual(unexpected(methodDiffs), []);
  });

  it("types each notification's params with the schema's properties", () => {
    assert.deepEqual(unexpected(notificationDiffs), []);
  });

  it("spells each schema enum as a string-literal union with the same members", () => {
    const enums = Object.entries(schema.$defs)
      .filter(([, d]) => typeof d === "object" && d.enum !== undefined)
      .map(([name]) => name)
      .sort();
    assert.deepEqual(enums, Object.keys(ENUMS).sort(), "ENUMS must name every enum of the schema");
    for (const [def, alias] of Object.entries(ENUMS)) {
      const decl = source.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === alias);
      assert.ok(decl !== undefined, `protocol.ts has no type ${alias} for the schema's ${def}`);
      const info = tsInfo([checker.getTypeFromTypeNode(decl.type)]);
      assert.ok(!info.anyString && info.kinds.size === 1, `${alias} is not a union of string literals`);
      assert.deepEqual([...info.literals].sort(), [...schemaInfo(schema.$defs[def], def).literals].sort(), `protocol.ts's ${alias} vs the schema's ${def}`);
    }
  });

  it("allows only differences that exist", () => {
    const found = new Set(comparison.differences.map((d) => d.key));
    assert.deepEqual(
      Object.keys(ALLOWED).filter((k) => !found.has(k)),
      [],
      "entries of ALLOWED that match no difference: remove them (unless a method above is missing)",
    );
  });
});
