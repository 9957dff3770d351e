/**
 * Package metadata that must not drift: deno.json (JSR, TypeScript sources) and package.json (npm,
 * built files) export the same entry points, and the npm package stays ESM-only, dependency-free,
 * side-effect-free, with `types` first in every condition.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";

type Conditions = { readonly [condition: string]: string | Conditions };
type ExportsField = { readonly [subpath: string]: string | Conditions };

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly type?: string;
  readonly sideEffects?: boolean;
  readonly types?: string;
  readonly exports: ExportsField;
  readonly [field: string]: unknown;
}

interface DenoJson {
  readonly version: string;
  readonly license: string;
  readonly exports: { readonly [subpath: string]: string };
}

const root = new URL("../", import.meta.url);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, root), "utf8")) as T;
const pkg = readJson<PackageJson>("package.json");
const deno = readJson<DenoJson>("deno.json");

/**
 * The conditions of `"."`, in order, and the adapter each must reach. Order matters: Bun and Deno
 * also match `"node"`, and the first matching condition wins.
 */
const RUNTIME_CONDITIONS = { bun: "bun", deno: "deno", node: "node", default: "node" } as const;

/** `./dist/runtimes/node/index.js` (or `.d.ts`) → `./src/runtimes/node/index.ts`. */
function sourceOf(distFile: string): string | undefined {
  const match = /^\.\/dist\/(.+?)(?:\.d\.ts|\.js)$/.exec(distFile);
  return match ? `./src/${match[1]}.ts` : undefined;
}

/** Every object below `exports` whose values are all strings: the ones that pick a file. */
function leafConditions(value: string | Conditions, at: string): [string, Conditions][] {
  if (typeof value === "string") return [];
  const values = Object.values(value);
  if (values.every((entry) => typeof entry === "string")) return [[at, value]];
  return Object.entries(value).flatMap(([key, entry]) => leafConditions(entry, `${at}.${key}`));
}

/** Every object below `exports`, nested ones included. */
function conditionObjects(value: string | Conditions, at: string): [string, Conditions][] {
  if (typeof value === "string") return [];
  return [[at, value], ...Object.entries(value).flatMap(([key, entry]) => conditionObjects(entry, `${at}.${key}`))];
}

/** The JavaScript file a package.json subpath gives a runtime (`"."` is resolved per condition). */
function jsTarget(subpath: string, condition?: keyof typeof RUNTIME_CONDITIONS): string | undefined {
  let entry = pkg.exports[subpath];
  if (entry !== undefined && typeof entry !== "string" && condition !== undefined) entry = entry[condition];
  if (entry === undefined || typeof entry === "string") return entry;
  const target = entry.default;
  return typeof target === "string" ? target : undefined;
}

describe("deno.json exports mirror package.json exports", () => {
  test("the same subpaths, in the same order", () => {
    const npmSubpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== "./package.json");
    expect(Object.keys(deno.exports)).toEqual(npmSubpaths);
  });

  test('"." is the deno adapter in deno.json and resolves per runtime in package.json', () => {
    expect(deno.exports["."]).toBe("./src/runtimes/deno/index.ts");
    const main = pkg.exports["."];
    expect(typeof main).toBe("object");
    expect(Object.keys(main as Conditions)).toEqual(Object.keys(RUNTIME_CONDITIONS));
    for (const [condition, runtime] of Object.entries(RUNTIME_CONDITIONS)) {
      expect({ condition, target: jsTarget(".", condition as keyof typeof RUNTIME_CONDITIONS) }).toEqual({
        condition,
        target: `./dist/runtimes/${runtime}/index.js`,
      });
    }
  });

  test("each deno.json target is the source of the matching dist file", () => {
    for (const [subpath, source] of Object.entries(deno.exports)) {
      const distFile = subpath === "." ? jsTarget(".", "deno") : jsTarget(subpath);
      expect({ subpath, source: distFile === undefined ? undefined : sourceOf(distFile) }).toEqual({
        subpath,
        source,
      });
      expect({ subpath, exists: existsSync(new URL(source, root)) }).toEqual({ subpath, exists: true });
    }
  });

  test("types and code of every condition come from the same module", () => {
    for (const [subpath, entry] of Object.entries(pkg.exports)) {
      for (const [at, conditions] of leafConditions(entry, subpath)) {
        const { types, default: code } = conditions;
        expect({ at, types: typeof types === "string" ? sourceOf(types) : undefined }).toEqual({
          at,
          types: typeof code === "string" ? sourceOf(code) : "(no default)",
        });
        expect({ at, types: types?.toString().endsWith(".d.ts") }).toEqual({ at, types: true });
      }
    }
  });

  test("name-independent metadata agrees (version, license)", () => {
    expect({ version: deno.version, license: deno.license }).toEqual({ version: pkg.version, license: pkg.license });
  });
});

describe("package.json", () => {
  test("has no runtime dependencies", () => {
    const fields = ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies"];
    expect(fields.filter((field) => field in pkg)).toEqual([]);
  });

  test("is ESM and free of side effects", () => {
    expect(pkg.type).toBe("module");
    expect(pkg.sideEffects).toBe(false);
  });

  test('"types" comes first and "default" last in every condition object', () => {
    for (const [subpath, entry] of Object.entries(pkg.exports)) {
      for (const [at, conditions] of leafConditions(entry, subpath)) {
        expect({ at, first: Object.keys(conditions)[0] }).toEqual({ at, first: "types" });
      }
      for (const [at, conditions] of conditionObjects(entry, subpath)) {
        const keys = Object.keys(conditions);
        expect({ at, last: keys[keys.length - 1] }).toEqual({ at, last: "default" });
      }
    }
  });

  test('the top-level "types" is the default entry\'s types', () => {
    const main = pkg.exports["."] as Conditions;
    const fallback = main.default as Conditions;
    expect(pkg.types).toBe(fallback.types);
  });
});
