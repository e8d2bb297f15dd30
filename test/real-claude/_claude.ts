import {
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import {
  createSupervisedTown,
  REPO_ROOT,
  townProcessPids,
  type Json,
  type SupervisedTown,
} from "../helpers/supervised-town.js";
import { storeEvents, type StoreEvent } from "../helpers/store.js";
import { until } from "../helpers/wait.js";

/**
 * Shared by the real-CLI suite: finds the pinned Claude Code binary that scripts/install-claude.sh installs,
 * and builds a supervised town (test/helpers/supervised-town.ts) whose agents all run it, each town with a
 * private HOME that has completed onboarding and nothing else (no login, no trusted folders).
 */

/** The pinned version, kept once in scripts/claude-version (read by the install script too). */
export const CLAUDE_VERSION = readFileSync(join(REPO_ROOT, "scripts", "claude-version"), "utf8").trim();

const INSTALL_HINT = "run `bash scripts/install-claude.sh` (or set TOWND_CLAUDE_BIN to a claude binary)";

/** Where scripts/install-claude.sh puts the binary, with the same defaults. */
export function installedClaudePath(env: NodeJS.ProcessEnv = process.env): string {
  const cache =
    env["TOWND_CLAUDE_CACHE"] ??
    join(env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "townd", `claude-code-${CLAUDE_VERSION}`);
  return join(cache, "node_modules", ".bin", "claude");
}

export type ClaudeLookup = { found: true; bin: string } | { found: false; message: string };

/** TOWND_CLAUDE_BIN, else the install script's cache path; whether it is there and executable. */
export function findClaude(env: NodeJS.ProcessEnv = process.env): ClaudeLookup {
  const fromEnv = env["TOWND_CLAUDE_BIN"];
  const bin = fromEnv !== undefined && fromEnv !== "" ? fromEnv : installedClaudePath(env);
  try {
    accessSync(bin, constants.X_OK);
    return { found: true, bin };
  } catch {
    return {
      found: false,
      message: `Claude Code ${CLAUDE_VERSION} is not installed at ${bin}: ${INSTALL_HINT}`,
    };
  }
}

/**
 * The `skip` option for a real-CLI describe(): the reason to skip when the binary is missing on a developer's
 * machine; false when it is there, and false under CI too, where requireClaude() then fails the tests.
 */
export function skipWithoutClaude(extra?: string | false): string | false {
  if (extra !== undefined && extra !== false) return extra;
  const lookup = findClaude();
  if (lookup.found || isCi()) return false;
  return lookup.message;
}

/** The binary's absolute path; throws (so the test fails) with the install hint when it is missing. */
export function requireClaude(): string {
  const lookup = findClaude();
  if (!lookup.found) throw new Error(lookup.message);
  return lookup.bin;
}

function isCi(): boolean {
  const ci = process.env["CI"];
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Makes `<dir>` a HOME that has completed Claude's onboarding and holds nothing else. */
export function makePrivateHome(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, ".claude.json"), `${JSON.stringify({ hasCompletedOnboarding: true })}\n`);
  return dir;
}

export interface ClaudeTownOptions {
  /** Put IS_SANDBOX=1 in the agents' environment (without it, claude refuses to run as root). Default true. */
  sandbox?: boolean;
  /** The rig whose Witness and Refinery run (default "r1"). */
  rig?: string;
  /** Daemon pass interval (operational.daemon.recovery_heartbeat_interval), default "5s". */
  passInterval?: string;
  /** operational.daemon.deacon_grace_period, default "30s". */
  deaconGrace?: string;
  /** More operational.daemon settings. */
  daemon?: Json;
}

export interface ClaudeTown {
  town: SupervisedTown;
  /** The claude binary the agents run. */
  claude: string;
  /** The agents' private HOME (inside the town's directory, so cleanup removes it). */
  home: string;
  rig: string;
  /** Identity → tmux session of the patrol agents: deacon, <rig>/witness, <rig>/refinery. */
  sessions: Readonly<Record<string, string>>;
}

/**
 * A town whose Deacon and one rig's Witness and Refinery run the real claude, by overriding the `claude`
 * preset's command and environment in settings (`agents.claude`) and making it the default agent.
 */
export async function createClaudeTown(options: ClaudeTownOptions = {}): Promise<ClaudeTown> {
  const claude = requireClaude();
  const rig = options.rig ?? "r1";
  let home = "";
  const town = await createSupervisedTown({
    rigs: [rig],
    patrols: {
      deacon: { enabled: true, interval: "5m", agent: "deacon" },
      witness: { enabled: true, interval: "5m", agent: "witness", rigs: [rig] },
      refinery: { enabled: true, interval: "5m", agent: "refinery", rigs: [rig] },
      mayor: { enabled: false },
    },
    settings: (settings, helpers) => {
      home = makePrivateHome(join(helpers.root, "home"));
      const env: Record<string, string> = { HOME: home, DISABLE_AUTOUPDATER: "1" };
      // Set either way: the machine's own environment may carry IS_SANDBOX, and the agents would inherit it.
      env["IS_SANDBOX"] = (options.sandbox ?? true) ? "1" : "";
      // The preset's own flag, spelled out: the test then means the same whether a settings entry named like a
      // preset replaces it or only overrides its command and environment.
      settings["agents"] = {
        ...(settings["agents"] as Json | undefined),
        claude: { command: claude, args: ["--dangerously-skip-permissions"], env },
      };
      settings["default_agent"] = "claude";
      settings["operational"] = {
        daemon: {
          recovery_heartbeat_interval: options.passInterval ?? "5s",
          deacon_grace_period: options.deaconGrace ?? "30s",
          ...options.daemon,
        },
      };
    },
  });
  return {
    town,
    claude,
    home,
    rig,
    sessions: {
      deacon: "hq-deacon",
      [`${rig}/witness`]: `gt-${rig}-witness`,
      [`${rig}/refinery`]: `gt-${rig}-refinery`,
    },
  };
}

/** The visible screen of a session's pane (`capture-pane -p`, with `-e` when `escapes`); "" when there is none. */
export async function screen(town: SupervisedTown, session: string, escapes = false): Promise<string> {
  const result = await town.tmux(["capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", `=${session}:`]);
  return result.code === 0 ? result.stdout : "";
}

/** The pane's whole history and screen as plain text. */
export async function scrollback(town: SupervisedTown, session: string): Promise<string> {
  const result = await town.tmux(["capture-pane", "-p", "-S", "-", "-t", `=${session}:`]);
  return result.code === 0 ? result.stdout : "";
}

/** Claude's input line, `❯` + NO-BREAK SPACE (test/fixtures/claude-2.1.332/README.md). */
const INPUT_LINE = /^❯\u00a0(.*)$/;
/** What the input line shows when it is empty after a failed submit (dim placeholder). */
const PLACEHOLDER = "Once fixed, resend your message";

/** Whether a plain screen is one of Claude's dialogs (trust, bypass, API key, MCP server…). */
export function isDialog(text: string): boolean {
  return /Enter to confirm · Esc to (cancel|reject)/.test(text);
}

/**
 * Whether a plain screen shows Claude's prompt box with nothing typed in it: the input line (`❯` + NBSP) right
 * under a horizontal rule, holding nothing or the placeholder, and no dialog on screen.
 */
export function showsEmptyPrompt(text: string): boolean {
  if (isDialog(text)) return false;
  const lines = text.split("\n");
  return lines.some((line, i) => {
    const input = INPUT_LINE.exec(line);
    if (input === null || i === 0 || !/^─{10,}\s*$/.test(lines[i - 1] ?? "")) return false;
    const content = (input[1] ?? "").trim();
    return content === "" || content === PLACEHOLDER;
  });
}

/** Submitted prompts in the conversation: lines `❯ <text>` with an ordinary space (the input line has an NBSP). */
export function submittedPrompts(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("❯ ") && !/^❯ (No, exit|Yes, I)/.test(line))
    .map((line) => line.slice(2).trimEnd());
}

/** Events of these types in the town's store. */
export function eventsOfType(town: SupervisedTown, ...types: string[]): StoreEvent[] {
  return storeEvents(town).filter((e) => types.includes(e.type));
}

/**
 * Cleans up a Claude town and checks nothing of it outlived it: no daemon, tmux server or claude (its
 * children included). Only this town's processes are looked at (they carry its mark in their environment),
 * so a real-CLI suite running beside this one does not count.
 */
export async function destroyClaudeTown(ct: ClaudeTown): Promise<void> {
  const root = ct.town.root;
  await ct.town.cleanup();
  await until(
    "every process of the town to be gone",
    () => townProcessPids(root).length === 0,
    10_000,
    () => JSON.stringify(townProcessPids(root)),
  );
  const exe = realpathSync(ct.claude);
  const leftovers = townProcessPids(root).filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === exe;
    } catch {
      return false;
    }
  });
  assert.deepEqual(leftovers, [], "no claude process of the town is left running");
}
