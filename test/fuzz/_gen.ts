import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../helpers/tmp.js";

/**
 * Seeded, reproducible generators for the fuzz tests: a small PRNG (mulberry32), hostile strings (quotes,
 * `;`, `$()`, backticks, newlines, NUL, `../`, unicode, very long, control characters, JSON-ish fragments)
 * and structural mutations of valid JSON documents.
 *
 * Every fuzz file derives its seed from FUZZ_SEED (when set) or a fixed default, prints it, and names the
 * seed and the case number in every failure, so `FUZZ_SEED=<seed> node --import tsx --test <file>` replays it.
 */

export type Rng = () => number;

/**
 * A temp dir on a RAM file system when there is one (/dev/shm): the fuzzers rewrite files thousands of times,
 * which costs seconds on a disk-backed /tmp. Falls back to the helpers' makeTempDir.
 */
export function fastTempDir(prefix: string): { dir: string; cleanup: () => void } {
  let made: { dir: string; cleanup: () => void } | undefined;
  if (existsSync("/dev/shm")) {
    try {
      const dir = mkdtempSync(join("/dev/shm", prefix));
      made = {
        dir,
        cleanup: () => {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch {
      // Not writable: use the default temp dir.
    }
  }
  const temp = made ?? makeTempDir(prefix);
  // Also when the test process ends before `after` runs.
  const onExit = (): void => {
    temp.cleanup();
  };
  process.on("exit", onExit);
  return {
    dir: temp.dir,
    cleanup: () => {
      process.off("exit", onExit);
      temp.cleanup();
    },
  };
}

/** mulberry32: 32 bits of state, uniform in [0, 1). */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a fuzz file: FUZZ_SEED (decimal or 0x hex) when set, else `fallback`. */
export function fuzzSeed(fallback: number): number {
  const text = process.env["FUZZ_SEED"];
  if (text === undefined || text.trim() === "") return fallback >>> 0;
  const value = text.trim().startsWith("0x") ? Number.parseInt(text.trim(), 16) : Number(text.trim());
  if (!Number.isInteger(value)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(text)}`);
  return value >>> 0;
}

/** A fresh generator per target, so adding cases to one target never shifts another target's cases. */
export function targetRng(seed: number, target: string): Rng {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193);
  return mulberry32(h >>> 0);
}

export class Gen {
  readonly rng: Rng;
  constructor(rng: Rng) {
    this.rng = rng;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.rng() * (max - min + 1));
  }

  bool(p = 0.5): boolean {
    return this.rng() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.rng() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  /** Letters and digits, 1..max characters (often a valid name). */
  word(max = 10): string {
    const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let out = "";
    const n = this.int(1, max);
    for (let i = 0; i < n; i++) out += chars.charAt(this.int(0, chars.length - 1));
    return out;
  }

  /** A name from the characters identities and rig names allow, plus a few they do not. */
  nameish(max = 12): string {
    const chars = "abcxyzAZ0189_-.";
    let out = this.bool(0.8) ? this.word(3) : "";
    const n = this.int(0, max);
    for (let i = 0; i < n; i++) out += chars.charAt(this.int(0, chars.length - 1));
    return out === "" ? "a" : out;
  }

  /** One hostile fragment. */
  fragment(canary: string): string {
    return this.pick(hostileFragments(canary))();
  }

  /** A string built from several fragments and words: the main hostile-input generator. */
  hostile(canary: string, maxParts = 5): string {
    const parts: string[] = [];
    const n = this.int(1, maxParts);
    for (let i = 0; i < n; i++) {
      const roll = this.rng();
      if (roll < 0.45) parts.push(this.fragment(canary));
      else if (roll < 0.75) parts.push(this.nameish());
      else if (roll < 0.9) parts.push(this.word());
      else
        parts.push(this.pick(["/", "-", "/polecats/", "/crew/", "-witness", "-refinery", "-polecat-", " "]));
    }
    return parts.join("");
  }

  /** A random unicode code point string (any plane, lone surrogates included). */
  unicode(max = 8): string {
    let out = "";
    const n = this.int(1, max);
    for (let i = 0; i < n; i++) {
      const roll = this.rng();
      if (roll < 0.3) out += String.fromCharCode(this.int(0, 0x1f));
      else if (roll < 0.5) out += String.fromCharCode(this.int(0xd800, 0xdfff));
      else if (roll < 0.8) out += String.fromCodePoint(this.int(0x80, 0xffff));
      else out += String.fromCodePoint(this.int(0x10000, 0x10ffff));
    }
    return out;
  }
}

/** Hostile fragments; `canary` is a path that must never be created (command substitution, backticks). */
export function hostileFragments(canary: string): (() => string)[] {
  return [
    () => `$(touch ${canary})`,
    () => `\`touch ${canary}\``,
    () => `; touch ${canary}`,
    () => `&& touch ${canary} #`,
    () => `| touch ${canary}`,
    () => `'$(touch ${canary})'`,
    () => `"; touch ${canary}; echo "`,
    () => `\n touch ${canary}\n`,
    () => "#{session_name}",
    () => "#(touch /dev/null)",
    () => "'",
    () => '"',
    () => "\\",
    () => "`",
    () => "$HOME",
    () => "${IFS}",
    () => ";",
    () => "\n",
    () => "\r\n",
    () => "\0",
    () => "\t",
    () => "\u001b[31m",
    () => "\u001b]0;title\u0007",
    () => "\u007f",
    () => "\u0085",
    () => "\u2028",
    () => "\u2029",
    () => "\u202e",
    () => "\ufeff",
    () => "\ud800",
    () => "\udfff",
    () => "🦀",
    () => "é",
    () => "ñ",
    () => "Ω",
    () => "ﬁ",
    () => "../",
    () => "../../etc/passwd",
    () => "/etc/passwd",
    () => "..",
    () => ".",
    () => "~",
    () => "//",
    () => "%s%n%x",
    () => "%00",
    () => "*",
    () => "?",
    () => "[a-z]",
    () => "-",
    () => "--",
    () => "--help",
    () => "-V",
    () => "--town",
    () => "=",
    () => ":",
    () => "@",
    () => "{",
    () => "}",
    () => "[",
    () => "]",
    () => '{"action":"cycle"}',
    () => '{"__proto__":{"polluted":1}}',
    () => "null",
    () => "true",
    () => "1e999",
    () => "-0",
    () => "NaN",
    () => "0x10",
    () => "__proto__",
    () => "constructor",
    () => "toString",
    () => "hasOwnProperty",
    () => "lifecycle:",
    () => "LIFECYCLE: ",
    () => "mayor/",
    () => "deacon",
    () => "deacon/boot",
    () => "polecats",
    () => "crew",
    () => "witness",
    () => " ",
    () => "",
    () => "x".repeat(300),
    () => "a".repeat(5000),
    () => "é".repeat(2000),
    () => "/".repeat(100),
    () => "-".repeat(70),
  ];
}

/** Every character that is not plain printable ASCII, escaped, for failure messages. */
export function show(text: string | undefined, max = 300): string {
  if (typeof text !== "string") return String(text);
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
  return JSON.stringify(cut).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Line breaks as a terminal or a line-based reader sees them: LF, CR, VT, FF. */
export const LINE_BREAK = /[\n\r\u000b\u000c]/;

/**
 * C0 control characters other than tab: ESC starts terminal escape sequences, NUL truncates C strings. (DEL,
 * the C1 range and U+2028/2029 pass: JSON.stringify leaves them as they are and terminals in UTF-8 mode show
 * them as text.)
 */
export const CONTROL = /[\u0000-\u0008\u000a-\u001f]/;

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A random JSON value of bounded depth, with hostile strings and odd numbers. */
export function randomJson(g: Gen, canary: string, depth = 0): JsonValue {
  const roll = g.rng();
  if (depth > 3 || roll < 0.35) {
    return g.pick<() => JsonValue>([
      () => null,
      () => g.bool(),
      () => g.int(-5, 5),
      () => g.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 5e-324, 0.1]),
      () => g.hostile(canary, 3),
      () => g.pick(["3m", "500ms", "1h30m", "0", "2.5s", "-1s", "1e3s", "", " 5s ", "5", "3min"]),
      () => g.unicode(),
    ])();
  }
  if (roll < 0.65) {
    const n = g.int(0, 4);
    return Array.from({ length: n }, () => randomJson(g, canary, depth + 1));
  }
  const out: Record<string, JsonValue> = {};
  const n = g.int(0, 4);
  for (let i = 0; i < n; i++) {
    const key = g.bool(0.6) ? g.nameish(6) : g.hostile(canary, 2);
    setKey(out, key, randomJson(g, canary, depth + 1));
  }
  return out;
}

/**
 * A structural mutation of a valid document: a field removed, retyped, replaced with a hostile value or a
 * random JSON value; a new field; an array emptied or a value wrapped; applied 1..3 times at random depths.
 */
export function mutateJson(g: Gen, value: unknown, canary: string): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const times = g.int(1, 3);
  let root = copy;
  for (let i = 0; i < times; i++) root = mutateOnce(g, root, canary);
  return root;
}

function mutateOnce(g: Gen, root: unknown, canary: string): unknown {
  // Walk to a random container.
  const path: (string | number)[] = [];
  let node: unknown = root;
  while (g.bool(0.7)) {
    if (Array.isArray(node) && node.length > 0) {
      const index = g.int(0, node.length - 1);
      path.push(index);
      node = node[index];
    } else if (isObject(node) && Object.keys(node).length > 0) {
      const key = g.pick(Object.keys(node));
      path.push(key);
      node = node[key];
    } else break;
  }
  const replacement = (): unknown =>
    g.pick<() => unknown>([
      () => randomJson(g, canary),
      () => g.hostile(canary),
      () => null,
      () => g.pick([0, -1, 3.7, 1e308, true, "", [], {}]),
      () => (typeof node === "string" ? `${node}${g.fragment(canary)}` : node),
      // Retyped: a number negated, anything else as its JSON text (String() would call a hostile "toString" key).
      () => (typeof node === "number" ? -node : JSON.stringify(node)),
      () => [node],
      () => ({ value: node as JsonValue }),
    ])();
  if (path.length === 0) {
    if (isObject(node) && g.bool(0.7)) {
      const key = g.bool(0.5) ? g.hostile(canary, 2) : g.pick(["version", "rigs", "type", "__proto__"]);
      const copy = { ...node };
      setKey(copy, key, replacement());
      return copy;
    }
    return replacement();
  }
  const parentPath = path.slice(0, -1);
  const last = path[path.length - 1];
  let parent: unknown = root;
  for (const step of parentPath) parent = (parent as Record<string | number, unknown>)[step];
  if (Array.isArray(parent) && typeof last === "number") {
    if (g.bool(0.2)) parent.splice(last, 1);
    else parent[last] = replacement();
  } else if (isObject(parent) && typeof last === "string") {
    const roll = g.rng();
    if (roll < 0.2) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing a random field is the point
      delete parent[last];
    } else if (roll < 0.35) {
      setKey(parent, g.hostile(canary, 2), parent[last]);
    } else parent[last] = replacement();
  }
  return root;
}

/** An own, enumerable property even for `__proto__`, so JSON.stringify writes it into the document. */
function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Raw-text damage to a serialized document: truncation, a flipped byte, junk spliced in, BOM, NULs. */
export function damageText(g: Gen, text: string, canary: string): string {
  return g.pick<() => string>([
    () => text.slice(0, g.int(0, Math.max(0, text.length - 1))),
    () => {
      const at = g.int(0, Math.max(0, text.length - 1));
      return `${text.slice(0, at)}${g.fragment(canary)}${text.slice(at)}`;
    },
    () => {
      const at = g.int(0, Math.max(0, text.length - 1));
      return `${text.slice(0, at)}${String.fromCharCode(g.int(0, 255))}${text.slice(at + 1)}`;
    },
    () => `\ufeff${text}`,
    () => `${text}\0\0\0`,
    () => `${text}${text}`,
    () => text.replace(/"/g, "'"),
    () => text.replace(/,/, ",,"),
    () => "",
    () => " \n\t ",
    () => g.hostile(canary, 6),
    () => "[".repeat(g.int(1, 5000)),
  ])();
}
