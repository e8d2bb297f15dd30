import type { Role } from "../town/identity.js";
import type { SettingsFile } from "../town/schemas.js";
import type { AgentScript } from "./behaviour.js";
import { HOUR, MINUTE, SECOND } from "./clock.js";

/** Something that happens to the whole machine at a moment of the run. */
export type WorldEvent =
  /** Every agent process dies at the same moment (status null: killed by a signal). */
  | { readonly atMs: number; readonly kind: "mass-death"; readonly status: number | null }
  /** The tmux server dies, with every session. */
  | { readonly atMs: number; readonly kind: "server-down" };

/**
 * A scenario, declared: the town's size, how its agents behave, what happens to the machine, and how long.
 * The "target" is the agent the scenario is about: the first rig's witness, or the Deacon in a town of one.
 */
export interface Scenario {
  readonly name: string;
  /** One line for `townd simulate --list`. */
  readonly description: string;
  /** Default length of the run; `--days` overrides. */
  readonly days: number;
  /** Default town size; `--agents` overrides. */
  readonly agents: number;
  readonly scripts?: {
    readonly all?: AgentScript;
    readonly roles?: Partial<Record<Role, AgentScript>>;
    readonly target?: AgentScript;
  };
  /** Age of the Deacon's heartbeat file when the daemon starts; absent: there is no file. */
  readonly deaconHeartbeatAgeAtStartMs?: number;
  readonly events?: readonly WorldEvent[];
  /** settings/config.json; absent: townd's defaults. */
  readonly settings?: SettingsFile;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "healthy-version-title",
    description: "every agent titled 2.1.7 (Claude's native build) and healthy: no restart, no kill (#566)",
    days: 4,
    agents: 50,
  },
  {
    name: "instant-crash",
    description: "one agent exits with status 1 the moment it starts, every time",
    days: 4,
    agents: 3,
    scripts: { target: { every: { exitAfterMs: 0, exitStatus: 1 } } },
  },
  {
    name: "crash-after-1.2s",
    description: "one agent exits with status 1 1.2 s after every start (just past PM2's min_uptime)",
    days: 4,
    agents: 3,
    scripts: { target: { every: { exitAfterMs: 1200, exitStatus: 1 } } },
  },
  {
    name: "crash-after-10m",
    description: "one agent exits with status 1 10 minutes after every start",
    days: 4,
    agents: 3,
    scripts: { target: { every: { exitAfterMs: 10 * MINUTE, exitStatus: 1 } } },
  },
  {
    name: "deacon-stale-heartbeat-at-start",
    description:
      "the Deacon's heartbeat file is 2 h old when a healthy Deacon starts; it beats first at 60 s (#589)",
    days: 1,
    agents: 3,
    deaconHeartbeatAgeAtStartMs: 2 * HOUR,
    scripts: {
      roles: { deacon: { every: { heartbeat: { firstAfterMs: 60 * SECOND, everyMs: 30 * SECOND } } } },
    },
  },
  {
    name: "deacon-hang",
    description:
      "the Deacon stops heartbeating 1 h after its start, process alive: one nudge, then a restart (#729)",
    days: 1,
    agents: 3,
    scripts: { roles: { deacon: { first: { hangAfterMs: HOUR } } } },
  },
  {
    name: "mass-death",
    description:
      "every agent dies at the same moment once (1 h in): one mass_death alert, a 2 m pause, all back",
    days: 1,
    agents: 9,
    events: [{ atMs: HOUR, kind: "mass-death", status: null }],
  },
  {
    name: "tmux-server-loss",
    description:
      "the tmux server dies once (2 h in): every agent back in the next pass, no death counted, no alert",
    days: 1,
    agents: 9,
    events: [{ atMs: 2 * HOUR, kind: "server-down" }],
  },
  {
    name: "slow-start",
    description: "agents show their prompt 90 s after start (the Deacon beats first at 2 m): no restart",
    days: 1,
    agents: 9,
    scripts: {
      all: { every: { promptAfterMs: 90 * SECOND } },
      roles: { deacon: { every: { heartbeat: { firstAfterMs: 2 * MINUTE, everyMs: 30 * SECOND } } } },
    },
  },
  {
    name: "deacon-idle",
    description:
      "an idle Deacon beats only every 8 m but answers a HEALTH_CHECK nudge in 10 s: nudged, never restarted",
    days: 1,
    agents: 3,
    scripts: {
      roles: {
        deacon: {
          every: {
            heartbeat: { firstAfterMs: 30 * SECOND, everyMs: 8 * MINUTE },
            answersNudgeAfterMs: 10 * SECOND,
          },
        },
      },
    },
  },
  {
    name: "shell-zombie",
    description:
      "agents run under a shell; one exits back to its shell once, 1 h in: replaced after the zombie check",
    days: 1,
    agents: 9,
    scripts: {
      all: { every: { underShell: true } },
      target: { first: { exitAfterMs: HOUR, exitToShell: true, exitStatus: 0 } },
    },
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}
