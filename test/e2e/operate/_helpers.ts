import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import {
  CLI_MAIN,
  REPO_ROOT,
  TOWN_MARK,
  type CliRun,
  type Json,
  type SupervisedTown,
} from "../../helpers/supervised-town.js";

/**
 * Shared by the operator-surface e2e tests (control API, status, events/why, notifications, service unit):
 * raw HTTP on the daemon's control socket, an NDJSON follower, the README's documented shapes, the store's
 * events, and environment builders for CLI runs with or without colour.
 */

export { sleep, until } from "../../helpers/wait.js";
export { storeEvents } from "../../helpers/store.js";

export function controlSocket(town: SupervisedTown): string {
  return join(town.root, "daemon", "control.sock");
}

export interface ApiAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** One HTTP request on the town's control socket, exactly as a client such as curl would send it. */
export function api(
  town: SupervisedTown,
  method: string,
  path: string,
  body?: string,
  timeoutMs = 15_000,
): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: controlSocket(town),
        method,
        path,
        timeout: timeoutMs,
        headers:
          body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} got no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** A `GET /v1/events?follow=1…` stream: the NDJSON lines received so far, parsed. */
export interface Follower {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly lines: string[];
  events(): Json[];
  /** Whether the daemon ended the response. */
  ended(): boolean;
  close(): void;
}

export function followEvents(town: SupervisedTown, query: string): Promise<Follower> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let partial = "";
    let ended = false;
    const req = request(
      { socketPath: controlSocket(town), method: "GET", path: `/v1/events?${query}` },
      (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          partial += chunk;
          const parts = partial.split("\n");
          partial = parts.pop() ?? "";
          lines.push(...parts.filter((line) => line !== ""));
        });
        res.on("end", () => {
          ended = true;
        });
        res.on("error", () => {
          ended = true;
        });
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          lines,
          events: () => lines.map((line) => JSON.parse(line) as Json),
          ended: () => ended,
          close: () => {
            req.destroy();
          },
        });
      },
    );
    req.on("error", (error) => {
      ended = true;
      reject(error);
    });
    req.end();
  });
}

/** The JSON example under "### `townd status --json`" in README.md. */
export function readmeStatusExample(): Json {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### `townd status --json`"));
  const match = /```json\n([\s\S]*?)\n```/.exec(section);
  assert.ok(match?.[1] !== undefined, "README.md has a JSON example for townd status --json");
  return JSON.parse(match[1]) as Json;
}

/** `null`, `array`, or typeof. */
export function jsonType(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/**
 * Every key of `documented` is in `actual`, with the same JSON type (null fits any type: the README says
 * times are null when never set, and its example agent has a rig where the Deacon has none).
 */
export function assertDocumentedShape(actual: Json, documented: Json, where: string): void {
  for (const [key, example] of Object.entries(documented)) {
    assert.ok(key in actual, `${where}.${key} is documented in README.md but missing from the real output`);
    const real = actual[key];
    if (example !== null && real !== null) {
      assert.equal(jsonType(real), jsonType(example), `${where}.${key}: README shows ${jsonType(example)}`);
    }
  }
}

export const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** One row of the store's `events` table, as `townd events --json` prints it. */
export interface TownEventJson {
  id: number;
  ts: string;
  type: string;
  identity: string | null;
  generation: string | null;
  reason: string;
  data: Json;
}

/** The documented-by-code shape of one event (`townd events --json`, `GET /v1/events`). */
export function assertEventShape(event: Json, where: string): void {
  assert.deepEqual(
    Object.keys(event).sort(),
    ["data", "generation", "id", "identity", "reason", "ts", "type"],
    `${where}: keys of an event`,
  );
  assert.equal(typeof event["id"], "number", `${where}.id`);
  assert.match(String(event["ts"]), ISO_TIME, `${where}.ts`);
  assert.equal(typeof event["type"], "string", `${where}.type`);
  assert.ok(event["identity"] === null || typeof event["identity"] === "string", `${where}.identity`);
  assert.ok(event["generation"] === null || typeof event["generation"] === "string", `${where}.generation`);
  assert.equal(typeof event["reason"], "string", `${where}.reason`);
  assert.equal(jsonType(event["data"]), "object", `${where}.data`);
}

/** The environment the helper gives CLI runs (the town mark, no inherited town), with changes. */
export function cliEnv(
  town: SupervisedTown,
  changes: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [TOWN_MARK]: town.root };
  // No colour decision inherited from the machine running the tests: each test sets what it checks.
  for (const key of [
    "TOWND_ROOT",
    "GT_TOWN_ROOT",
    "GT_ROOT",
    "TMUX",
    "TMUX_PANE",
    "NO_COLOR",
    "FORCE_COLOR",
    "CI",
  ]) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- an env map keyed by variable name
    delete env[key];
  }
  for (const [key, value] of Object.entries(changes)) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- an env map keyed by variable name
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs the built CLI on a pseudo-terminal (util-linux `script`), so stdout is a TTY. */
export function townOnTty(
  town: SupervisedTown,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<CliRun> {
  const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, CLI_MAIN, "--town", town.root, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: town.root,
      env: { ...env, TERM: "xterm-256color" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      reject(new Error(`townd ${args.join(" ")} on a TTY did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running CLI (e.g. `events --follow`) whose stdout lines are collected; stop it with `kill()`. */
export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  stderr(): string;
  /** Sends SIGTERM to the CLI by its PID and waits for it to exit; returns its exit code or signal. */
  kill(): Promise<string>;
}

export function startCli(town: SupervisedTown, args: readonly string[]): RunningCli {
  const child = spawn(process.execPath, [CLI_MAIN, "--town", town.root, ...args], {
    cwd: town.root,
    env: cliEnv(town),
  });
  const lines: string[] = [];
  let partial = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<string>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve(signal ?? String(code));
    });
  });
  return {
    child,
    lines,
    stderr: () => stderr,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, "SIGTERM");
      }
      return exited;
    },
  };
}

export const ANSI = /\u001b\[/;

/** A failed CLI run that printed exactly one line, on stderr, prefixed `townd: `, and exit code 1. */
export function assertOneLineError(run: CliRun, pattern: RegExp, what: string): void {
  assert.equal(
    run.code,
    1,
    `${what}: exit code (stdout ${JSON.stringify(run.stdout)}, stderr ${JSON.stringify(run.stderr)})`,
  );
  assert.equal(run.stdout, "", `${what}: nothing on stdout`);
  const lines = run.stderr.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 1, `${what}: one line on stderr, got ${JSON.stringify(run.stderr)}`);
  assert.match(lines[0] ?? "", /^townd: /, `${what}: the line starts with "townd: "`);
  assert.match(lines[0] ?? "", pattern, what);
}

/** The agent rows of a `townd status` table, keyed by identity: the cells split on runs of 2+ spaces. */
export function tableRows(stdout: string): { header: string[]; rows: Map<string, string[]> } {
  const lines = stdout.split("\n");
  const start = lines.findIndex((line) => line.startsWith("AGENT "));
  assert.ok(start >= 0, `a table header in:\n${stdout}`);
  const split = (line: string): string[] => line.trim().split(/ {2,}/);
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break;
    const cells = split(line);
    rows.set(cells[0] ?? "", cells);
  }
  return { header: split(lines[start] ?? ""), rows };
}

/** PIDs of the town's processes whose command line is exactly `argv`. */
export function processesRunning(pids: readonly number[], argv: readonly string[]): number[] {
  return pids.filter((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8")
        .split("\0")
        .filter((s) => s !== "");
      return cmdline.length === argv.length && cmdline.every((arg, i) => arg === argv[i]);
    } catch {
      return false;
    }
  });
}
