import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import { bootStatusJson, triageOutcome, type TriageOutcome } from "../policy/boot.js";
import type { Plan } from "../policy/plan.js";
import type { TownPaths } from "../town/paths.js";
import { writeFileAtomicPrivateSync } from "../util/private-file.js";
import type { ActionResult } from "./executor.js";

/** Where a degraded triage leaves its result (reference §2, §5.2): Boot's own directory. */
export function bootStatusFile(paths: TownPaths): string {
  return join(paths.deaconDir, "dogs", "boot", ".boot-status.json");
}

/**
 * A degraded Boot triage, once the pass's actions have run: what happened to the Deacon (started, nothing
 * to do, or could not be started) goes to `.boot-status.json` (replaced atomically, never through a link,
 * 0644 as the reference writes it). Returns the line for the log and the event.
 */
export function writeBootTriage(
  paths: TownPaths,
  plan: Pick<Plan, "bootTriage" | "decisions">,
  results: readonly ActionResult[],
  startedAt: number,
  completedAt: number,
  log: Logger,
): string {
  const why = plan.bootTriage ?? "";
  const mine = plan.decisions.filter((d) => d.identity === "deacon");
  const decision = mine.find((d) => d.action === "spawn" || d.action === "respawn") ?? mine[0];
  const result = results.find(
    (r) => r.action.identity === "deacon" && (r.action.kind === "spawn" || r.action.kind === "respawn"),
  );
  const outcome = triageOutcome(decision, result);
  const line = `Degraded Boot triage (${why}): ${describeOutcome(outcome)}`;
  const file = bootStatusFile(paths);
  try {
    mkdirSync(join(paths.deaconDir, "dogs", "boot"), { recursive: true });
    const json = bootStatusJson(outcome, new Date(startedAt), new Date(completedAt));
    writeFileAtomicPrivateSync(file, `${JSON.stringify(json, null, 2)}\n`, 0o644);
  } catch (error) {
    log.error({ agent: "boot" }, `Cannot write ${file}: ${errorMessage(error)}`);
  }
  if (outcome.lastAction === "error") log.warn({ agent: "boot" }, line);
  else log.info({ agent: "boot" }, line);
  return line;
}

function describeOutcome(outcome: TriageOutcome): string {
  switch (outcome.lastAction) {
    case "start":
      return "the Deacon was not running; started it";
    case "nothing":
      return "the Deacon is running; nothing to do";
    case "error":
      return `error: ${outcome.error ?? "unknown"}`;
  }
}
