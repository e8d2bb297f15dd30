import type { PolecatWork } from "../policy/desired.js";
import type { Verdict } from "../policy/plan.js";
import { formatDuration } from "../util/duration.js";

export type NoticeKind = "GUPP_VIOLATION" | "ORPHANED_WORK" | "CRASHED_POLECAT";

/** A mail to a rig's Witness about a worker's hooked work, sent once per episode (not once per pass). */
export interface WorkNotice {
  readonly kind: NoticeKind;
  readonly identity: string;
  /** Identifies the episode: the same episode is never mailed twice. */
  readonly episode: string;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
}

export interface PolecatView extends PolecatWork {
  readonly identity: string;
  readonly verdict: Verdict;
  /** The daemon is not going to restart it now: held rig, crash loop, or a failed restart. */
  readonly abandoned: boolean;
  readonly generation: string | null;
  /** The error of a restart that failed in this pass. */
  readonly spawnError: string | null;
}

/**
 * The reference's work checks (§5.7–5.9, §10.1) with its flood fixed (B102): a GUPP violation is hooked work
 * on a live agent that has not acted for the GUPP timeout; orphaned work is hooked work on a dead agent the
 * daemon will not restart now; a crashed polecat is one whose restart failed.
 */
export function workNotices(
  polecats: readonly PolecatView[],
  now: number,
  guppTimeoutMs: number,
): WorkNotice[] {
  const notices: WorkNotice[] = [];
  for (const p of polecats) {
    if (p.hookedWork === null) continue;
    const to = `${p.rig}/witness`;
    if (p.spawnError !== null) {
      notices.push({
        kind: "CRASHED_POLECAT",
        identity: p.identity,
        episode: `restart-failed:${p.generation ?? "none"}`,
        to,
        subject: `CRASHED_POLECAT: ${p.rig}/${p.name} restart failed`,
        body: `Polecat ${p.name} crashed and automatic restart failed.\n\nhook_bead: ${p.hookedWork}\nrestart_error: ${p.spawnError}\n\nManual intervention may be required.`,
      });
      continue;
    }
    if (p.verdict === "alive") {
      const updated =
        p.updatedAt === null || p.updatedAt === undefined ? Number.NaN : Date.parse(p.updatedAt);
      if (Number.isNaN(updated) || now - updated <= guppTimeoutMs) continue;
      const idleMs = now - updated;
      // Minutes, as the reference writes it; seconds only for the short timeouts tests use.
      const stuck = formatDuration(
        idleMs >= 60_000 ? Math.floor(idleMs / 60_000) * 60_000 : Math.floor(idleMs / 1000) * 1000,
      );
      notices.push({
        kind: "GUPP_VIOLATION",
        identity: p.identity,
        episode: `idle-since:${p.updatedAt ?? ""}`,
        to,
        subject: `GUPP_VIOLATION: ${p.identity} stuck for ${stuck}`,
        body: `Agent ${p.identity} has work on hook but isn't progressing.\n\nhook_bead: ${p.hookedWork}\nstuck_duration: ${stuck}\n\nAction needed: Check if agent is alive and responsive. Consider restarting if stuck.`,
      });
    } else if (p.abandoned) {
      notices.push({
        kind: "ORPHANED_WORK",
        identity: p.identity,
        episode: `dead:${p.generation ?? "never-started"}`,
        to,
        subject: `ORPHANED_WORK: ${p.identity} has hooked work but is dead`,
        body: `Agent ${p.identity} is dead but has work on its hook.\n\nhook_bead: ${p.hookedWork}\n\nAction needed: Either restart the agent or reassign the work.`,
      });
    }
  }
  return notices;
}
