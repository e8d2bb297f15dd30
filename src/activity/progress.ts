import { statSync } from "node:fs";
import type { Screen } from "./screen.js";

/**
 * Signs that a working agent makes progress (agent-states.md §3(d)): a busy-but-hung CLI keeps repainting
 * its spinner and timer, so neither a raw screen diff nor tmux's activity says anything. What counts: its
 * transcript growing, and its screen changing once spinner glyphs and elapsed times are set aside (token
 * counts that move still count).
 */

const SPINNER_GLYPHS = /[✢✳✶✻✼✽·*⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏●◐◓◑◒]/gu;
const ELAPSED = /\b\d+(?:\.\d+)?\s?(?:ms|s|m|h)\b/g;

/** A screen's text without what repaints on its own: equal prints mean no progress shows. */
export function screenPrint(screen: Screen): string {
  return screen.lines
    .map((line) => line.text.replace(SPINNER_GLYPHS, "").replace(ELAPSED, "").replace(/\s+/g, " ").trim())
    .join("\n")
    .trimEnd();
}

/** When each agent's screen print last changed, per generation. */
export class ScreenProgress {
  private readonly seen = new Map<string, { generation: string | null; print: string; at: number }>();

  note(identity: string, generation: string | null, screen: Screen, at: number): void {
    const print = screenPrint(screen);
    const last = this.seen.get(identity);
    if (last !== undefined && last.generation === generation && last.print === print) return;
    this.seen.set(identity, { generation, print, at });
  }

  changedAt(identity: string, generation: string | null): number | null {
    const last = this.seen.get(identity);
    return last !== undefined && last.generation === generation ? last.at : null;
  }

  retain(identities: ReadonlySet<string>): void {
    for (const identity of this.seen.keys()) if (!identities.has(identity)) this.seen.delete(identity);
  }
}

/** When each agent's transcript last grew: its size is checked once per pass (a stat, nothing read). */
export class TranscriptProgress {
  private readonly seen = new Map<string, { path: string; size: number; at: number }>();

  /** Notes the transcript's size now; returns when it last grew (the first sight counts as growth). */
  note(identity: string, path: string | null, at: number): number | null {
    if (path === null) return null;
    let size: number;
    try {
      const stat = statSync(path);
      if (!stat.isFile()) return null;
      size = stat.size;
    } catch {
      return this.seen.get(identity)?.path === path ? (this.seen.get(identity)?.at ?? null) : null;
    }
    const last = this.seen.get(identity);
    if (last !== undefined && last.path === path && last.size === size) return last.at;
    this.seen.set(identity, { path, size, at });
    return at;
  }

  retain(identities: ReadonlySet<string>): void {
    for (const identity of this.seen.keys()) if (!identities.has(identity)) this.seen.delete(identity);
  }
}
