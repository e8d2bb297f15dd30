import type { PatrolConfig } from "../town/schemas.js";

export type PatrolName = "deacon" | "witness" | "refinery" | "mayor" | "boot";

/** Patrols that run only when mayor/daemon.json enables them: the Mayor, and Boot (the Deacon's triage dog). */
const OPT_IN: ReadonlySet<PatrolName> = new Set<PatrolName>(["mayor", "boot"]);

/**
 * The reference's IsPatrolEnabled (§6.3, B21–B23) plus the opt-in rule: no file or no `patrols` → enabled;
 * a patrol object without `enabled` → disabled; an absent patrol → enabled, except the Mayor and Boot,
 * which run only when `patrols.<name>.enabled` is true.
 */
export function patrolEnabled(config: PatrolConfig | undefined, patrol: PatrolName): boolean {
  const entry = config?.patrols?.[patrol];
  if (entry === undefined) return !OPT_IN.has(patrol);
  return entry.enabled === true;
}

/** The optional `rigs` filter of a patrol (B138): absent means every rig. */
export function patrolCoversRig(config: PatrolConfig | undefined, patrol: PatrolName, rig: string): boolean {
  const rigs = config?.patrols?.[patrol]?.rigs;
  return rigs === undefined || rigs.includes(rig);
}
