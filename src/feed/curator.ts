import { closeSync, readSync, statSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../errors.js";
import { removeWriteLeftovers } from "../daemon/write-leftovers.js";
import { openRegularFileSafe } from "../util/safe-read.js";
import { sleep } from "../util/sleep.js";
import { curateLine, type CurationState } from "./curate.js";
import { appendFeed, capFeed, feedSize, MAX_FEED_BYTES } from "./feed-file.js";
import {
  FIRST_RUN,
  TAIL_BYTES,
  loadCuratorState,
  saveCuratorState,
  type CuratorState,
  type EventsPosition,
} from "./position.js";

/** What the curator says to the daemon's log. */
export interface CuratorLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface FeedCuratorOptions {
  readonly townRoot: string;
  /** Where its position is kept (the daemon's `daemon/feed-curator.json`). */
  readonly stateFile: string;
  readonly log: CuratorLog;
  /** Between two looks at `.events.jsonl` (the reference polls every 100 ms). */
  readonly pollMs?: number;
  /** Wall-clock time, for events whose `ts` is not a time. */
  readonly now?: () => number;
  readonly maxFeedBytes?: number;
}

/** At most this much of `.events.jsonl` is read per step: a backlog is caught up in bounded steps. */
const CHUNK_BYTES = 64 * 1024;
/** Steps per look: up to 1 MiB, then the next look. */
const STEPS_PER_LOOK = 16;

/**
 * The feed curator (reference §11, B126): tails `<T>/.events.jsonl` and appends what the feed shows to
 * `<T>/.feed.jsonl`. Unlike the reference, which starts at the end of the file each time, it keeps its
 * position in the daemon's directory, so a daemon restart neither re-appends nor skips what came meanwhile;
 * a file truncated, replaced or rewritten in place is read again from its start.
 */
export class FeedCurator {
  private readonly eventsFile: string;
  private readonly feedFile: string;
  private readonly options: FeedCuratorOptions;
  private state: CuratorState = FIRST_RUN;
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private lastProblem = "";
  /** Problems met so far: a look that met none ends the last one. */
  private problems = 0;

  constructor(options: FeedCuratorOptions) {
    this.options = options;
    this.eventsFile = join(options.townRoot, ".events.jsonl");
    this.feedFile = join(options.townRoot, ".feed.jsonl");
  }

  /** Loads the position (finishing a batch an earlier daemon left half done), then tails in the background. */
  start(): void {
    removeWriteLeftovers([this.options.stateFile]);
    const saved = loadCuratorState(this.options.stateFile, (message) => {
      this.options.log.warn(`Feed curator: ${message}`);
    });
    if (saved === undefined) {
      // The first run starts at the end of what exists, as the reference does; a file that appears later
      // is read from its start.
      const stats = this.stat();
      const events = stats === null ? null : this.positionAt(stats, Number(stats.size));
      this.persist({ ...FIRST_RUN, events });
    } else {
      this.state = saved;
      this.finishPending();
    }
    const controller = new AbortController();
    this.controller = controller;
    this.running = this.loop(controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort(new Error("daemon stopping"));
    await this.running;
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const pollMs = this.options.pollMs ?? 100;
    while (!signal.aborted) {
      this.step();
      try {
        await sleep(pollMs, signal);
      } catch {
        return;
      }
    }
  }

  /** One look at `.events.jsonl`: everything new, in bounded chunks. Never throws. */
  step(): void {
    const before = this.problems;
    try {
      if (this.finishPending()) for (let i = 0; i < STEPS_PER_LOOK; i += 1) if (!this.readChunk()) break;
    } catch (error) {
      this.problem(errorMessage(error));
    }
    // A problem that did not come back in this look is over: the next one is said again.
    if (this.problems === before) this.lastProblem = "";
  }

  /** Reads and curates one chunk; false when there was nothing (more) to read. */
  private readChunk(): boolean {
    const stats = this.stat();
    if (stats === null) return false;
    const size = Number(stats.size);
    let position = this.current(stats, size);
    if (size <= position.offset) {
      if (position !== this.state.events) this.commit(position, "", this.state.curation);
      return false;
    }
    const opened = openRegularFileSafe(this.eventsFile);
    if (opened === undefined) return false;
    let chunk: Buffer;
    try {
      chunk = readAt(opened.fd, position.offset, Math.min(CHUNK_BYTES, size - position.offset));
    } finally {
      closeSync(opened.fd);
    }
    const end = chunk.lastIndexOf(0x0a);
    if (end < 0) {
      if (chunk.length < CHUNK_BYTES) return false;
      // A line longer than a chunk is no event anyone wrote: skip it (its rest fails to parse).
      this.problem(`a line over ${CHUNK_BYTES} bytes in ${this.eventsFile} was skipped`);
      position = { ...position, offset: position.offset + chunk.length, tail: tailOf(chunk, chunk.length) };
      this.commit(position, "", this.state.curation);
      return true;
    }
    const complete = chunk.subarray(0, end + 1);
    let curation: CurationState = this.state.curation;
    let feed = "";
    const now = (this.options.now ?? Date.now)();
    for (const line of complete.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      const curated = curateLine(line, curation, now);
      curation = curated.state;
      if (curated.event !== null) feed += `${JSON.stringify(curated.event)}\n`;
    }
    const tail =
      complete.length >= TAIL_BYTES || position.offset === 0
        ? tailOf(complete, complete.length)
        : this.tailFromFile(position.offset + complete.length);
    this.commit({ ...position, offset: position.offset + complete.length, tail }, feed, curation);
    return this.state.pending === null;
  }

  /** The saved position, or the start of the file when it is another file, shorter, or rewritten. */
  private current(stats: BigIntStats, size: number): EventsPosition {
    const saved = this.state.events;
    const fromStart = this.positionAt(stats, 0);
    if (saved === null) return fromStart;
    if (saved.dev !== String(stats.dev) || saved.ino !== String(stats.ino)) {
      this.options.log.info(
        `Feed curator: ${this.eventsFile} was replaced; reading the new file from its start`,
      );
      return fromStart;
    }
    if (size < saved.offset) {
      this.options.log.info(`Feed curator: ${this.eventsFile} was truncated; reading it from its start`);
      return fromStart;
    }
    // Only when there is more to read: a file cut and refilled past the position shows in the bytes before it.
    if (size > saved.offset && saved.offset > 0 && this.tailFromFile(saved.offset) !== saved.tail) {
      this.options.log.info(`Feed curator: ${this.eventsFile} was rewritten; reading it from its start`);
      return fromStart;
    }
    return saved;
  }

  /**
   * Appends a batch exactly once: the batch is saved with the new position before the append and cleared
   * after it, so a daemon killed in between finishes it at its next start (finishPending).
   */
  private commit(events: EventsPosition, feed: string, curation: CurationState): void {
    if (feed === "") {
      this.persist({ events, pending: null, curation });
      return;
    }
    if (capFeed(this.feedFile, this.options.maxFeedBytes ?? MAX_FEED_BYTES))
      this.options.log.info(`Feed curator: ${this.feedFile} passed its size limit; kept its newer half`);
    this.persist({ events, pending: { feedSizeBefore: feedSize(this.feedFile), data: feed }, curation });
    this.finishPending();
  }

  /** Appends the batch the state holds, if any; false while it cannot be appended. */
  private finishPending(): boolean {
    const pending = this.state.pending;
    if (pending === null) return true;
    try {
      // Appends nothing when the batch is there already (it was, but clearing it could not be saved).
      appendFeed(this.feedFile, pending.data, pending.feedSizeBefore);
    } catch (error) {
      this.problem(`${errorMessage(error)}; the feed waits`);
      return false;
    }
    this.persist({ ...this.state, pending: null });
    return true;
  }

  /**
   * Saves `next`, and only then makes it the state in memory: a save that fails (a full disk) leaves the
   * curator where its file says it is, so it never runs ahead of what a restart would resume from.
   */
  private persist(next: CuratorState): void {
    saveCuratorState(this.options.stateFile, next);
    this.state = next;
  }

  private stat(): BigIntStats | null {
    try {
      return statSync(this.eventsFile, { bigint: true });
    } catch {
      return null;
    }
  }

  private positionAt(stats: BigIntStats, offset: number): EventsPosition {
    return {
      dev: String(stats.dev),
      ino: String(stats.ino),
      offset,
      tail: offset === 0 ? "" : this.tailFromFile(offset),
    };
  }

  private tailFromFile(offset: number): string {
    const opened = openRegularFileSafe(this.eventsFile);
    if (opened === undefined) return "";
    try {
      const start = Math.max(0, offset - TAIL_BYTES);
      const bytes = readAt(opened.fd, start, offset - start);
      return bytes.toString("base64");
    } finally {
      closeSync(opened.fd);
    }
  }

  /** Logs a problem once, not once per look, until it changes or goes away. */
  private problem(message: string): void {
    this.problems += 1;
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.options.log.warn(`Feed curator: ${message}`);
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return buffer.subarray(0, read);
}

function tailOf(bytes: Buffer, end: number): string {
  return bytes.subarray(Math.max(0, end - TAIL_BYTES), end).toString("base64");
}
