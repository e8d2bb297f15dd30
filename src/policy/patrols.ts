import type { PatrolConfig } from "../town/schemas.js";

export type PatrolName = "deacon" | "witness" | "refinery" | "mayor";

/**
 * The reference's IsPatrolEnabled (§6.3, B21–B23) plus the Mayor rule: no file or no `patrols` → enabled;
 * a patrol object without `enabled` → disabled; an absent patrol → enabled, except the Mayor, which is
 * supervised only when `patrols.mayor.enabled` is true.
 */
export function patrolEnabled(config: PatrolConfig | undefined, patrol: PatrolName): boolean {
  const entry = config?.patrols?.[patrol];
  if (entry === undefined) return patrol !== "mayor";
  return entry.enabled === true;
}

/** The optional `rigs` filter of a patrol (B138): absent means every rig. */
export function patrolCoversRig(config: PatrolConfig | undefined, patrol: PatrolName, rig: string): boolean {
  const rigs = config?.patrols?.[patrol]?.rigs;
  return rigs === undefined || rigs.includes(rig);
}
