import { z } from "zod";
import { errorMessage } from "../errors.js";
import { readJsonIfExists } from "../util/json-file.js";
import { writeJsonPrivateSync } from "../util/private-file.js";
import { EMPTY_CURATION, type CurationState } from "./curate.js";

/**
 * The feed curator's durable memory (`daemon/feed-curator.json`): where it is in `.events.jsonl` (which
 * file, by device and inode, how far, and the bytes just before that point, so a file rewritten in place is
 * noticed), what it remembers for deduplication, and the batch it is appending to `.feed.jsonl`, written
 * before the append, so a daemon killed in between neither loses nor repeats it.
 */

export interface EventsPosition {
  readonly dev: string;
  readonly ino: string;
  readonly offset: number;
  /** Base64 of up to TAIL_BYTES bytes just before `offset`. */
  readonly tail: string;
}

/** Feed lines written to the state before they are appended: `data` goes after `feedSizeBefore` bytes. */
export interface PendingAppend {
  readonly feedSizeBefore: number;
  readonly data: string;
}

export interface CuratorState {
  /** null: no events file seen yet; any file that appears is read from its start. */
  readonly events: EventsPosition | null;
  readonly pending: PendingAppend | null;
  readonly curation: CurationState;
}

export const TAIL_BYTES = 64;

const fileSchema = z.looseObject({
  version: z.literal(1),
  events: z
    .object({ dev: z.string(), ino: z.string(), offset: z.number().int().min(0), tail: z.string() })
    .nullable(),
  pending: z.object({ feed_size_before: z.number().int().min(0), data: z.string() }).nullable(),
  last_done: z.record(z.string(), z.number()),
  slings: z.record(z.string(), z.array(z.number())),
});

/** The saved state; undefined when there is none (the first run) or it cannot be used (said through `onProblem`). */
export function loadCuratorState(
  file: string,
  onProblem: (message: string) => void,
): CuratorState | undefined {
  try {
    const saved = readJsonIfExists(file, fileSchema, { noFollow: true });
    if (saved === undefined) return undefined;
    return {
      events: saved.events,
      pending:
        saved.pending === null
          ? null
          : { feedSizeBefore: saved.pending.feed_size_before, data: saved.pending.data },
      curation: { lastDone: saved.last_done, slings: saved.slings },
    };
  } catch (error) {
    onProblem(`${errorMessage(error)}; starting at the end of .events.jsonl`);
    return undefined;
  }
}

/** Replaces the state file atomically (temp file, fsync, rename; never through a link; owner-only). */
export function saveCuratorState(file: string, state: CuratorState): void {
  writeJsonPrivateSync(file, {
    version: 1,
    events: state.events,
    pending:
      state.pending === null
        ? null
        : { feed_size_before: state.pending.feedSizeBefore, data: state.pending.data },
    last_done: state.curation.lastDone,
    slings: state.curation.slings,
  });
}

export const FIRST_RUN: CuratorState = { events: null, pending: null, curation: EMPTY_CURATION };
