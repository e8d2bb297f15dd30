import { formatIdentity, validateIdentity, type AgentId } from "../town/identity.js";

export interface AgentEnvOptions {
  readonly townRoot: string;
  /** The generation id of this spawn (newGenerationId), so events about an old generation are not charged to it. */
  readonly generation: string;
  /** The tmux session the agent runs in. */
  readonly session: string;
  /** The runtime's session-id variable (`CLAUDE_SESSION_ID`), exported as GT_SESSION_ID_ENV; null/absent: none. */
  readonly sessionIdEnv?: string | null | undefined;
}

/**
 * The environment of an agent's process: the reference's AgentEnv (§16.1), which Gas Town's `gt` and `bd`
 * read to know who they are acting for, plus townd's own variables.
 *
 * The reference sets BEADS_NO_DAEMON=1 only on the paths that ask for it (refinery, polecat restarts) and
 * GT_REFINERY=1 for the refinery (B51, B111); here that is decided by role so every start path agrees.
 * Keys come back sorted, so the same agent always gets byte-identical environments.
 */
export function agentEnv(id: AgentId, options: AgentEnvOptions): Record<string, string> {
  const { role, rig = "", name = "" } = validateIdentity(id);
  const canonical = formatIdentity(id);
  const env: Record<string, string> = { GT_ROLE: role };
  switch (role) {
    case "mayor":
    case "deacon":
      env["BD_ACTOR"] = role;
      env["GIT_AUTHOR_NAME"] = role;
      break;
    case "boot":
      // The reference's beads actor for Boot is `deacon-boot` (§16.1); its canonical identity is `boot`.
      env["BD_ACTOR"] = "deacon-boot";
      env["GIT_AUTHOR_NAME"] = "boot";
      break;
    case "witness":
      env["GT_RIG"] = rig;
      env["BD_ACTOR"] = canonical;
      env["GIT_AUTHOR_NAME"] = canonical;
      break;
    case "refinery":
      env["GT_RIG"] = rig;
      env["BD_ACTOR"] = canonical;
      env["GIT_AUTHOR_NAME"] = canonical;
      env["GT_REFINERY"] = "1";
      env["BEADS_NO_DAEMON"] = "1";
      break;
    case "polecat":
      env["GT_RIG"] = rig;
      env["GT_POLECAT"] = name;
      env["BD_ACTOR"] = canonical;
      env["GIT_AUTHOR_NAME"] = name;
      env["BEADS_AGENT_NAME"] = `${rig}/${name}`;
      env["BEADS_NO_DAEMON"] = "1";
      break;
    case "crew":
      env["GT_RIG"] = rig;
      env["GT_CREW"] = name;
      env["BD_ACTOR"] = canonical;
      env["GIT_AUTHOR_NAME"] = name;
      env["BEADS_AGENT_NAME"] = `${rig}/${name}`;
      break;
  }
  env["GT_ROOT"] = options.townRoot;
  env["GT_TOWN_ROOT"] = options.townRoot;
  if (options.sessionIdEnv) env["GT_SESSION_ID_ENV"] = options.sessionIdEnv;
  env["TOWND_ROOT"] = options.townRoot;
  env["TOWND_IDENTITY"] = canonical;
  env["TOWND_SESSION"] = options.session;
  env["TOWND_GENERATION"] = options.generation;
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const TIME_WIDTH = 9; // base36 milliseconds fit 9 digits until the year 5188, so ids sort by time as text
const RANDOM_CHARS = 6;

/**
 * A short, sortable, unique id for one spawn: base36 time then 6 random base36 characters, e.g.
 * `0mbx3k2a1q7zk0f`. `random` (a `Math.random`-like source) is injected so tests get fixed ids.
 */
export function newGenerationId(now: number, random: () => number): string {
  if (!Number.isFinite(now) || now < 0) throw new RangeError(`Invalid time for a generation id: ${now}`);
  let suffix = "";
  for (let i = 0; i < RANDOM_CHARS; i++) {
    const value = random();
    const digit = Number.isFinite(value) ? Math.min(35, Math.max(0, Math.floor(value * 36))) : 0;
    suffix += digit.toString(36);
  }
  return Math.floor(now).toString(36).padStart(TIME_WIDTH, "0") + suffix;
}
