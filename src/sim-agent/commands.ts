import { parseDuration } from "../util/duration.js";
import { SIM_SCREEN_NAMES } from "./screens.js";

/** The longest wall `/sim wall` plays: a week, Claude's longest usage window. */
const MAX_WALL_MS = 7 * 24 * 60 * 60 * 1000;

/** The in-band commands a test or a person types at the simulated agent's prompt. */
export type SimCommand =
  | { readonly kind: "crash"; readonly code: number | undefined }
  | { readonly kind: "exit" }
  | { readonly kind: "hang" }
  | { readonly kind: "stop-heartbeat" }
  | { readonly kind: "title"; readonly title: string }
  | { readonly kind: "run"; readonly argv: readonly [string, ...string[]] }
  | { readonly kind: "hook"; readonly event: string; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly kind: "screen"; readonly name: string }
  | { readonly kind: "wall"; readonly durationMs: number; readonly menu: boolean }
  | { readonly kind: "permission"; readonly tool: string; readonly command: string }
  | { readonly kind: "invalid"; readonly message: string };

export const SIM_COMMAND_USAGE =
  "/sim crash [code] | /sim exit | /sim hang | /sim stop-heartbeat | /sim title NAME | /sim run PROGRAM [ARGS…] | /sim hook EVENT [JSON] | /sim screen NAME | /sim wall DURATION [--menu] | /sim permission TOOL COMMAND";

/**
 * Splits a command line into words the way a POSIX shell quotes them, and does nothing else: no
 * variables, no `$(…)`, no globs, no `;` — those characters are just text. Single quotes keep
 * everything; double quotes honour `\"`, `\\`, `\$` and `` \` ``; a backslash outside quotes escapes
 * the next character. Throws on an unterminated quote.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const ch = line.charAt(i);
    if (ch === " " || ch === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i += 1;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const close = line.indexOf("'", i + 1);
      if (close === -1) throw new Error("unterminated single quote");
      word += line.slice(i + 1, close);
      i = close + 1;
      continue;
    }
    if (ch === '"') {
      i += 1;
      for (;;) {
        if (i >= line.length) throw new Error("unterminated double quote");
        const c = line.charAt(i);
        if (c === '"') break;
        const next = line.charAt(i + 1);
        if (c === "\\" && (next === '"' || next === "\\" || next === "$" || next === "`")) {
          word += next;
          i += 2;
        } else {
          word += c;
          i += 1;
        }
      }
      i += 1;
      continue;
    }
    if (ch === "\\" && i + 1 < line.length) {
      word += line.charAt(i + 1);
      i += 2;
      continue;
    }
    word += ch;
    i += 1;
  }
  if (inWord) words.push(word);
  return words;
}

/** Parses `/sim …`; returns undefined for any other input (which the agent only logs and echoes). */
export function parseSimCommand(line: string): SimCommand | undefined {
  const match = /^\s*\/sim(?:\s+(\S+)(.*))?$/s.exec(line.trimEnd());
  if (match === null) return undefined;
  const verb = match[1];
  const rest = (match[2] ?? "").trim();
  switch (verb) {
    case "crash": {
      if (rest === "") return { kind: "crash", code: undefined };
      if (!/^\d{1,3}$/.test(rest) || Number(rest) > 255)
        return { kind: "invalid", message: `/sim crash: "${rest}" is not an exit code from 0 to 255` };
      return { kind: "crash", code: Number(rest) };
    }
    case "exit":
    case "hang":
    case "stop-heartbeat":
      return rest === "" ? { kind: verb } : { kind: "invalid", message: `/sim ${verb} takes no arguments` };
    case "title":
      return rest === ""
        ? { kind: "invalid", message: "/sim title needs a NAME" }
        : { kind: "title", title: rest };
    case "run": {
      let words: string[];
      try {
        words = splitWords(rest);
      } catch (error) {
        return { kind: "invalid", message: `/sim run: ${(error as Error).message}` };
      }
      const [program, ...args] = words;
      if (program === undefined) return { kind: "invalid", message: "/sim run needs a PROGRAM" };
      return { kind: "run", argv: [program, ...args] };
    }
    case "hook":
      return parseHook(rest);
    case "screen":
      return SIM_SCREEN_NAMES.includes(rest.trim())
        ? { kind: "screen", name: rest.trim() }
        : { kind: "invalid", message: `/sim screen: one of ${SIM_SCREEN_NAMES.join(", ")}` };
    case "wall":
      return parseWall(rest);
    case "permission": {
      const match = /^([A-Za-z][\w.-]{0,63})\s+(\S.*)$/s.exec(rest);
      if (match === null)
        return { kind: "invalid", message: "/sim permission needs a TOOL (e.g. Bash) and a COMMAND" };
      return { kind: "permission", tool: match[1] ?? "", command: match[2] ?? "" };
    }
    case undefined:
      return { kind: "invalid", message: `usage: ${SIM_COMMAND_USAGE}` };
    default:
      return { kind: "invalid", message: `/sim: unknown command "${verb}"; usage: ${SIM_COMMAND_USAGE}` };
  }
}

/** `/sim wall DURATION [--menu]`: a usage-limit wall lifting DURATION from now, with Claude's menu or not. */
function parseWall(rest: string): SimCommand {
  const words = rest.split(/\s+/).filter((word) => word !== "");
  const menu = words.includes("--menu");
  const others = words.filter((word) => word !== "--menu");
  const [duration] = others;
  if (duration === undefined || others.length > 1)
    return { kind: "invalid", message: "usage: /sim wall DURATION [--menu] (e.g. /sim wall 1m)" };
  let durationMs: number;
  try {
    durationMs = parseDuration(duration);
  } catch {
    return { kind: "invalid", message: `/sim wall: "${duration}" is not a duration (e.g. 90s, 5h)` };
  }
  if (durationMs > MAX_WALL_MS) return { kind: "invalid", message: "/sim wall: at most 168h" };
  return { kind: "wall", durationMs, menu };
}

/** `/sim hook EVENT [JSON]`: the event's name and the fields (a JSON object) added to its payload. */
function parseHook(rest: string): SimCommand {
  const match = /^([A-Za-z]{1,64})(?:\s+(.*))?$/s.exec(rest);
  if (match === null)
    return { kind: "invalid", message: "/sim hook needs an EVENT name (e.g. PermissionRequest)" };
  const event = match[1] ?? "";
  const json = (match[2] ?? "").trim();
  if (json === "") return { kind: "hook", event, fields: {} };
  let fields: unknown;
  try {
    fields = JSON.parse(json);
  } catch {
    return { kind: "invalid", message: `/sim hook ${event}: the fields are not JSON` };
  }
  if (typeof fields !== "object" || fields === null || Array.isArray(fields))
    return { kind: "invalid", message: `/sim hook ${event}: the fields must be a JSON object` };
  return { kind: "hook", event, fields: fields as Record<string, unknown> };
}
