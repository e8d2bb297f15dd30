import { AppError } from "../errors.js";
import { mailLifecycleRequest } from "../lifecycle/request-mail.js";
import { openDb } from "../store/db.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";

/**
 * The dashboard's buttons, each carried out the way the CLI does it, so an agent cannot be treated
 * differently from a browser: restart, start and reset are operator requests (`townd restart AGENT`,
 * `start-agent`, `reset`: the control API's submit, answered with the planner's decisions); cycle is the
 * agent's own lifecycle request (`townd request cycle --as AGENT`: mail to the Deacon, intake, request rate).
 */
export const ACTIONS = {
  restart: "operator",
  cycle: "lifecycle",
  start: "operator",
  reset: "operator",
} as const;
export type ActionName = keyof typeof ACTIONS;

export function isAction(name: string): name is ActionName {
  return Object.hasOwn(ACTIONS, name);
}

export interface ActionDeps {
  /** The control API's operator request (Supervisor.submit). */
  submit(body: Record<string, unknown>): Promise<unknown>;
  /** Identities the daemon supervises now. */
  agents(): readonly string[];
  storeFile: string;
  /** Runs a pass now: a lifecycle request is waiting (the control API's wake). */
  wake(): void;
}

export interface ActionAnswer {
  readonly agent: string;
  readonly action: ActionName;
  /** One line for the page. */
  readonly message: string;
  readonly decisions?: unknown;
  readonly request?: string;
}

/** How long the page waits for the daemon's answer to an operator request, like the CLI. */
const OPERATOR_DEADLINE_MS = 14_000;

export async function runAction(action: ActionName, body: unknown, deps: ActionDeps): Promise<ActionAnswer> {
  const given = (body as { agent?: unknown } | null)?.agent;
  if (typeof given !== "string")
    throw new AppError("E_BAD_REQUEST", 'Body must name the agent: {"agent": "<identity>"}');
  const identity = formatIdentity(parseIdentity(given));
  if (!deps.agents().includes(identity))
    throw new AppError("E_UNKNOWN_AGENT", `No supervised agent "${identity}"`);
  if (ACTIONS[action] === "lifecycle") {
    // A connection of its own, as the CLI's; no full-store check (the daemon's own connection does that).
    const db = openDb(deps.storeFile, { check: false });
    let id: string;
    try {
      id = mailLifecycleRequest(db, identity, "cycle", "dashboard").id;
    } finally {
      db.close();
    }
    deps.wake();
    return { agent: identity, action, request: id, message: `Requested cycle of ${identity} (${id})` };
  }
  const answer = (await deps.submit({
    kind: action,
    agent: identity,
    deadline: Date.now() + OPERATOR_DEADLINE_MS,
  })) as { decisions: { action: string; reason: string }[] };
  const decision = answer.decisions.find((d) => d.action !== "none") ?? answer.decisions[0];
  // No decision: the daemon took the request only after its deadline and dropped it, unexecuted.
  return {
    agent: identity,
    action,
    decisions: answer.decisions,
    message:
      decision === undefined
        ? `${identity}: not carried out (the daemon did not take the ${action} in time); try again`
        : `${identity}: ${decision.action} (${decision.reason})`,
  };
}
