import type { Role } from "../town/identity.js";
import type { SettingsFile } from "../town/schemas.js";
import type { ActivityScript, AgentScript } from "./behaviour.js";
import { DAY, HOUR, MINUTE, SECOND } from "./clock.js";
import type { WallSpec } from "./usage-walls.js";

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
    /** By identity ("rig02/witness"), over the others. */
    readonly agents?: Readonly<Record<string, AgentScript>>;
  };
  /** The account's usage-limit walls; absent: none. */
  readonly walls?: WallSpec;
  /** Age of the Deacon's heartbeat file when the daemon starts; absent: there is no file. */
  readonly deaconHeartbeatAgeAtStartMs?: number;
  readonly events?: readonly WorldEvent[];
  /** settings/config.json; absent: townd's defaults. */
  readonly settings?: SettingsFile;
}

/** A Claude agent with hooks that works without end once prompted. */
const BUSY: ActivityScript = { work: "busy" };

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
  {
    name: "usage-wall",
    description:
      "every agent is walled by a 5-hour usage limit once a day (10:00, reset shown); 1 in 10 exits while walled: no kill, woken after the reset",
    days: 4,
    agents: 50,
    scripts: { all: { every: { activity: { ...BUSY, wallExit: { share: 0.1, withinMs: 30 * MINUTE } } } } },
    walls: {
      firstAtMs: 10 * HOUR,
      everyMs: DAY,
      durationMs: 5 * HOUR,
      liftJitterMs: 30 * SECOND,
      hitSpreadMs: MINUTE,
    },
  },
  {
    name: "permission-wait",
    description:
      "agents stop at a permission prompt 1–3 h into each stretch of work; a rule lets townd approve `npm test`, the rest are told once and wait 45 m for a person",
    days: 4,
    agents: 9,
    scripts: {
      all: {
        every: {
          activity: {
            ...BUSY,
            permission: {
              everyMs: HOUR,
              jitterMs: 2 * HOUR,
              details: ["Bash: npm test", "Bash: git push origin main", "Bash: rm -rf node_modules"],
              answeredAfterMs: 45 * MINUTE,
            },
          },
        },
      },
    },
    settings: {
      operational: {
        daemon: { permission_wait: { auto_approve: [{ tool: "Bash", command: "^npm test$" }] } },
      },
    },
  },
  {
    name: "idle-patrol",
    description:
      "patrol agents patrol 4 m, then wait at their prompt for a nudge; the Deacon answers none after its first patrol: nudged, never killed",
    days: 4,
    agents: 9,
    scripts: {
      all: { every: { activity: { work: "patrol", patrolMs: 4 * MINUTE } } },
      roles: { deacon: { every: { activity: { answersNudges: false } } } },
    },
  },
  {
    name: "stalled-worker",
    description:
      "every agent's turn stalls 3–9 h into its work; a nudge, Escape, a resumed or a fresh respawn cures it; rig04/witness's stall nothing cures",
    days: 4,
    agents: 9,
    scripts: {
      all: {
        every: {
          activity: {
            ...BUSY,
            stall: {
              afterMs: 3 * HOUR,
              jitterMs: 6 * HOUR,
              cures: { nudge: 4, escape: 3, resume: 2, fresh: 1 },
            },
          },
        },
      },
      agents: {
        "rig04/witness": {
          every: { activity: { ...BUSY, stall: { afterMs: 20 * HOUR, cures: { never: 1 } } } },
        },
      },
    },
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}
