import type { TownConfig } from "../town/config.js";
import { formatIdentity, sessionName, type AgentId } from "../town/identity.js";
import { rigGate } from "../town/rig-state.js";
import { patrolCoversRig, patrolEnabled, type PatrolName } from "./patrols.js";

/** Why an agent that the town knows about is not wanted right now. */
export type HeldState = "disabled" | "parked" | "docked" | "no-auto-restart";

/** An agent the patrols cover: wanted (keep it alive) or held (give it no new session). */
export interface DesiredAgent {
  readonly id: AgentId;
  readonly identity: string;
  readonly session: string;
  readonly wanted: boolean;
  readonly held: HeldState | null;
  /** Why it is held, e.g. "witness patrol disabled in mayor/daemon.json" or "rig is parked". */
  readonly heldReason: string;
}

function agent(id: AgentId, held: HeldState | null, heldReason = ""): DesiredAgent {
  return {
    id,
    identity: formatIdentity(id),
    session: sessionName(id),
    wanted: held === null,
    held,
    heldReason,
  };
}

function patrolHeld(config: TownConfig, patrol: PatrolName): string | null {
  return patrolEnabled(config.patrols, patrol) ? null : `${patrol} patrol disabled in mayor/daemon.json`;
}

/** A polecat (a directory under `<rig>/polecats/`) and the work the store says it holds. */
export interface PolecatWork {
  readonly rig: string;
  readonly name: string;
  readonly hookedWork: string | null;
  readonly state: string | null;
  /** When the agent last acted (store updated_at); the GUPP check's clock. */
  readonly updatedAt?: string | null;
}

/** States in which a polecat's hook is stale news, not work to resume (reference #2795). */
const FINISHED_STATES = new Set(["done", "nuked"]);

/**
 * The agents the daemon keeps alive, in the reference's heartbeat order (B20): the Deacon (and Boot, when
 * mayor/daemon.json names it; src/policy/boot.ts decides when it runs), the Mayor, the
 * witnesses and refineries of each rig, then polecats that still hold work (a crashed worker with work on
 * its hook is restarted through the same policy as everyone else).
 */
export function desiredAgents(config: TownConfig, polecats: readonly PolecatWork[] = []): DesiredAgent[] {
  const result: DesiredAgent[] = [];
  for (const role of ["deacon", "mayor"] as const) {
    const why = patrolHeld(config, role);
    result.push(agent({ role }, why === null ? null : "disabled", why ?? ""));
    if (role === "deacon" && config.patrols?.patrols?.["boot"] !== undefined) {
      // Boot, the Deacon's triage dog, is listed once daemon.json names it; it goes with the Deacon (B24).
      const bootWhy = why ?? patrolHeld(config, "boot");
      result.push(agent({ role: "boot" }, bootWhy === null ? null : "disabled", bootWhy ?? ""));
    }
  }
  const rigs = Object.keys(config.rigs.rigs).sort();
  for (const role of ["witness", "refinery"] as const) {
    const patrolWhy = patrolHeld(config, role);
    for (const rig of rigs) {
      const id: AgentId = { role, rig };
      if (patrolWhy !== null) {
        result.push(agent(id, "disabled", patrolWhy));
        continue;
      }
      if (!patrolCoversRig(config.patrols, role, rig)) {
        result.push(agent(id, "disabled", `rig not in the ${role} patrol's rigs list`));
        continue;
      }
      const gate = rigGate(config.wisp.get(rig));
      if (!gate.operational) {
        const held = gate.status === "operational" ? "no-auto-restart" : gate.status;
        result.push(agent(id, held, gate.reason));
        continue;
      }
      result.push(agent(id, null));
    }
  }
  const sessions = new Set(result.map((a) => a.session));
  for (const polecat of polecats) {
    if (polecat.hookedWork === null || FINISHED_STATES.has(polecat.state ?? "")) continue;
    if (!(polecat.rig in config.rigs.rigs)) continue;
    const id: AgentId = { role: "polecat", rig: polecat.rig, name: polecat.name };
    // Two names can share a tmux session (tmux turns "a.b" into "a_b"): the first keeps it (I1), the other is
    // held and visible in status instead of fighting over one session.
    const candidate = agent(id, null);
    if (sessions.has(candidate.session)) {
      result.push({
        ...candidate,
        wanted: false,
        held: "disabled",
        heldReason: `session ${candidate.session} is taken by another agent`,
      });
      continue;
    }
    sessions.add(candidate.session);
    const gate = rigGate(config.wisp.get(polecat.rig));
    if (!gate.operational) {
      result.push(agent(id, gate.status === "operational" ? "no-auto-restart" : gate.status, gate.reason));
    } else {
      result.push(agent(id, null));
    }
  }
  return result;
}
