import type { WispConfig } from "./schemas.js";

export interface RigGate {
  operational: boolean;
  /** Why the rig is not operational ("rig is parked"); empty when it is. */
  reason: string;
  status: "operational" | "parked" | "docked" | "no-auto-restart";
}

/**
 * The reference's isRigOperational (§6.2): parked or docked status, a blocked or disabled auto_restart.
 * A rig without a wisp config is operational.
 */
export function rigGate(wisp: WispConfig | undefined): RigGate {
  const blocked = new Set(wisp?.blocked ?? []);
  const status = blocked.has("status") ? undefined : wisp?.values?.["status"];
  if (status === "parked") return { operational: false, reason: "rig is parked", status: "parked" };
  if (status === "docked") return { operational: false, reason: "rig is docked", status: "docked" };
  if (blocked.has("auto_restart")) {
    return { operational: false, reason: "auto_restart is blocked", status: "no-auto-restart" };
  }
  if (wisp?.values?.["auto_restart"] === false) {
    return { operational: false, reason: "auto_restart is disabled", status: "no-auto-restart" };
  }
  return { operational: true, reason: "", status: "operational" };
}
