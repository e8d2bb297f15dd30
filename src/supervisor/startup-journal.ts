import { readFileSync, rmSync } from "node:fs";
import { z } from "zod";
import type { StartupStep } from "../activity/startup.js";
import { writeJsonAtomicSync } from "../util/json-file.js";

/** One agent's start-up sequence that has not finished: which steps its generation has had. */
export interface PendingStartup {
  readonly identity: string;
  readonly generation: string;
  readonly topic: string;
  readonly done: readonly StartupStep[];
}

const journalSchema = z.object({
  startups: z.array(
    z.object({
      identity: z.string().max(512),
      generation: z.string().max(128),
      topic: z.string().max(64),
      done: z.array(z.enum(["beacon", "nudge"])),
    }),
  ),
});

/** Far more than any town's journal: a larger file is not townd's and is ignored. */
const MAX_JOURNAL_BYTES = 1024 * 1024;

/**
 * Start-up sequences in flight, on disk (daemon/startups.json), so a daemon stopped or killed while an
 * agent starts lets the next daemon finish it: the agent gets its beacon and nudge once, not never and not
 * twice. A step is recorded as soon as it was sent: the file is written once the current turn of the event
 * loop is done, so a pass starting 500 agents writes it once, not 500 times (each a larger file, synced).
 */
export class StartupJournal {
  private readonly file: string;
  private readonly entries = new Map<string, PendingStartup>();
  private pending: NodeJS.Immediate | undefined;

  constructor(file: string) {
    this.file = file;
  }

  /** What an earlier daemon left unfinished; an unreadable journal is as good as none. */
  load(): PendingStartup[] {
    this.entries.clear();
    try {
      const text = readFileSync(this.file, "utf8");
      if (text.length > MAX_JOURNAL_BYTES) return [];
      const parsed = journalSchema.safeParse(JSON.parse(text));
      if (!parsed.success) return [];
      for (const entry of parsed.data.startups) this.entries.set(entry.identity, entry);
    } catch {
      return [];
    }
    return [...this.entries.values()];
  }

  begin(identity: string, generation: string, topic: string, done: readonly StartupStep[] = []): void {
    this.entries.set(identity, { identity, generation, topic, done });
    this.save();
  }

  sent(identity: string, generation: string, step: StartupStep): void {
    const entry = this.entries.get(identity);
    if (entry === undefined || entry.generation !== generation || entry.done.includes(step)) return;
    this.entries.set(identity, { ...entry, done: [...entry.done, step] });
    this.save();
  }

  end(identity: string, generation: string): void {
    if (this.entries.get(identity)?.generation !== generation) return;
    this.entries.delete(identity);
    this.save();
  }

  /** Writes what is pending now (at daemon stop). */
  flush(): void {
    if (this.pending === undefined) return;
    clearImmediate(this.pending);
    this.pending = undefined;
    this.write();
  }

  private save(): void {
    this.pending ??= setImmediate(() => {
      this.pending = undefined;
      this.write();
    });
  }

  private write(): void {
    try {
      if (this.entries.size === 0) rmSync(this.file, { force: true });
      else writeJsonAtomicSync(this.file, { startups: [...this.entries.values()] }, 0o600);
    } catch {
      // A full or read-only disk: start-ups still run; only a daemon restart mid-start-up loses its place.
    }
  }
}
