import { resetRecord } from "./assess.js";
import {
  plan,
  type Action,
  type AgentObservation,
  type Decision,
  type ManualRequest,
  type Plan,
  type PlanInput,
} from "./plan.js";
import { emptyRecord, type AgentRecord, type OperatorHold } from "./record.js";

/**
 * Operator holds around the restart policy. `townd stop-agent` holds one agent down until `townd start-agent`;
 * `townd down` holds the whole town down until `townd up`. A held agent's session is killed and nothing
 * starts it again: not the restart policy, not a lifecycle request, not `townd restart`. Its end is no death
 * (no backoff, no crash-loop count, no mass death) because a held agent never reaches the planner at all:
 * the planner decides for the others. The hold is kept in the agent's record, so it survives a daemon
 * restart. Pure, like the planner.
 */

export interface HoldsInput extends PlanInput {
  /** Why the town is stopped (daemon/town-stopped.json, left by `townd down`); null or absent: it is not. */
  readonly townStopped?: string | null;
  /** `townd up` in this pass: the town's hold is lifted and its agents are started. */
  readonly townStart?: boolean;
}

/** What a held agent's status and decisions say, with the command that lets it go. */
export function holdReason(hold: OperatorHold, identity: string, townStopped: string | null): string {
  return hold === "operator"
    ? `stopped by the operator; 'townd start-agent ${identity}' starts it`
    : `${townStopped ?? "the town was stopped with 'townd down'"}; 'townd up' starts it`;
}

/** The last request of `kinds` among `requests`, by position. */
function lastIndexOf(requests: readonly ManualRequest[], kind: ManualRequest["kind"]): number {
  return requests.map((r) => r.kind).lastIndexOf(kind);
}

/** The hold an agent is under after this pass's requests: the later of a stop and a start wins. */
function holdAfter(
  record: AgentRecord,
  mine: readonly ManualRequest[],
  townStopped: string | null,
  townStart: boolean,
): OperatorHold | null {
  const stop = lastIndexOf(mine, "stop");
  const start = lastIndexOf(mine, "start");
  let hold = record.operatorHold;
  if (stop > start) hold = "operator";
  // While the town is stopped, only `townd up` starts anything.
  else if (start > stop && townStopped === null) hold = null;
  if (townStart && hold === "town-stopped") hold = null;
  if (townStopped !== null && hold === null) hold = "town-stopped";
  return hold;
}

export function planWithHolds(input: HoldsInput): Plan {
  const townStart = input.townStart === true;
  // `townd up` wins over an intent file read in the same pass (the daemon removes it as it takes the up).
  const townStopped = townStart ? null : (input.townStopped ?? null);
  const records = new Map(input.records);
  const requests = input.requests ?? [];
  const free: AgentObservation[] = [];
  const passed: ManualRequest[] = [];
  const actions: Action[] = [];
  const decisions: Decision[] = [];

  for (const obs of input.agents) {
    const { identity, session } = obs.desired;
    let record = records.get(identity) ?? emptyRecord(identity, session);
    const mine = requests.filter((r) => r.identity === identity);
    const hold = holdAfter(record, mine, townStopped, townStart);
    const answer = (request: ManualRequest, reason: string): void => {
      decisions.push({
        identity,
        verdict: obs.verdict,
        action: "none",
        reason,
        requestId: request.requestId,
        requested: true,
      });
    };

    if (hold !== null) {
      const why = holdReason(hold, identity, townStopped);
      // The hold's own decision first: it is what an operator's command reports.
      if (obs.verdict === "missing") {
        decisions.push({ identity, verdict: obs.verdict, action: "none", reason: why, holdBy: hold });
      } else {
        actions.push({ kind: "kill", identity, session, reason: why });
        decisions.push({ identity, verdict: obs.verdict, action: "kill", reason: why, holdBy: hold });
      }
      for (const request of mine) {
        if (request.kind === "reset") record = resetRecord(record);
        const done = request.kind === "stop" || request.kind === "reset";
        // A start refused while the town is stopped says what would start it: `townd up`.
        const blocker =
          request.kind === "start" && townStopped !== null
            ? holdReason("town-stopped", identity, townStopped)
            : why;
        answer(request, done ? `${request.kind}: ${request.reason}` : `${request.kind} not done: ${blocker}`);
      }
      // The death of the generation it kills now is counted as done: whatever is seen of it later is no death.
      records.set(identity, {
        ...record,
        operatorHold: hold,
        deathCounted: record.generation,
        nextAttemptAt: null,
        zombieSince: null,
        lastReason: why,
      });
      continue;
    }

    const released = record.operatorHold !== null || townStart;
    if (released && obs.verdict !== "alive") {
      // Its session was ended on purpose: starting it again is a start, not a restart after a death.
      record = {
        ...record,
        operatorHold: null,
        deathCounted: record.generation,
        nextAttemptAt: null,
        lastReason: record.operatorHold === null ? record.lastReason : "hold lifted",
      };
    } else if (record.operatorHold !== null) {
      record = { ...record, operatorHold: null };
    }
    records.set(identity, record);
    for (const request of mine) {
      if (request.kind === "stop")
        answer(request, `stop: ${request.reason} (started again in the same pass)`);
      else passed.push(request);
    }
    // `townd up` starts what the town's stop held down; an agent stopped by its own shutdown request stays,
    // and Boot runs when its triage is due, as ever.
    const starting = mine.some((r) => r.kind === "start");
    if (
      townStart &&
      !starting &&
      obs.desired.id.role !== "boot" &&
      obs.desired.wanted &&
      obs.verdict !== "alive" &&
      record.stoppedReason === null
    ) {
      passed.push({ identity, kind: "start", reason: "townd up" });
    }
    free.push(obs);
  }

  // Boot triages the Deacon (policy/boot.ts): a Deacon the operator holds down needs no triage.
  const deaconHeld = input.agents.some((obs) => obs.desired.id.role === "deacon" && !free.includes(obs));
  const boot = free.find((obs) => obs.desired.id.role === "boot");
  if (deaconHeld && boot !== undefined && boot.verdict !== "alive") {
    free.splice(free.indexOf(boot), 1);
    const reason = "no triage: the Deacon is stopped by the operator";
    decisions.push({ identity: boot.desired.identity, verdict: boot.verdict, action: "none", reason });
  }
  const planned = plan({ ...input, agents: free, records, requests: passed });
  return {
    ...planned,
    actions: [...actions, ...planned.actions],
    decisions: [...decisions, ...planned.decisions],
  };
}
