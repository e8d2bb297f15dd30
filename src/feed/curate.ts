/**
 * The feed curator's decisions (reference §11, B126), pure: which raw events of `.events.jsonl` go to the
 * curated `.feed.jsonl`, with what summary, and which are dropped as repeats. The raw event format is the
 * reference's (`{ts, source, type, actor, payload, visibility}`, §10.3) and so is the feed's
 * (`{ts, source, type, actor, summary, payload, count}`); types pass through unchanged.
 */

/** A `done` from an actor that already has one in the feed within this window is dropped. */
export const DONE_DEDUPE_WINDOW_MS = 10_000;
/** A `sling` whose actor slung this many times within the window is shown as one dispatch to many. */
export const SLING_AGGREGATE_WINDOW_MS = 30_000;
export const SLING_AGGREGATE_MIN = 3;

export interface RawEvent {
  readonly ts: string;
  readonly source: string;
  readonly type: string;
  readonly actor: string;
  readonly payload: Readonly<Record<string, unknown>> | undefined;
  readonly visibility: string;
}

export interface FeedEvent {
  readonly ts: string;
  readonly source: string;
  readonly type: string;
  readonly actor: string;
  readonly summary: string;
  readonly payload?: Readonly<Record<string, unknown>>;
  readonly count?: number;
}

/** What the curator remembers between lines (and across daemon restarts): recent `done`s and slings. */
export interface CurationState {
  /** Per actor, the time of its last `done` written to the feed (epoch ms). */
  readonly lastDone: Readonly<Record<string, number>>;
  /** Per actor, the times of its recent slings in the raw log, whatever their visibility. */
  readonly slings: Readonly<Record<string, readonly number[]>>;
}

export const EMPTY_CURATION: CurationState = { lastDone: {}, slings: {} };

const STRING_FIELDS = ["ts", "source", "type", "actor", "visibility"] as const;

/**
 * One raw line as an event, or null when it is not one: not JSON, not an object, or a field of the wrong
 * type (the reference's strict decoding skips such lines too).
 */
export function parseRawEvent(line: string): RawEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const text: Partial<Record<(typeof STRING_FIELDS)[number], string>> = {};
  for (const field of STRING_FIELDS) {
    const item = record[field];
    if (item === undefined || item === null) continue;
    if (typeof item !== "string") return null;
    text[field] = item;
  }
  const payload = record["payload"];
  if (payload !== undefined && payload !== null && (typeof payload !== "object" || Array.isArray(payload)))
    return null;
  return {
    ts: text.ts ?? "",
    source: text.source ?? "",
    type: text.type ?? "",
    actor: text.actor ?? "",
    payload: (payload ?? undefined) as Record<string, unknown> | undefined,
    visibility: text.visibility ?? "",
  };
}

/**
 * Curates one raw line. `now` stands in for an event whose `ts` is not a time. Windows are measured between
 * the events' own times, so catching up on a backlog after a restart curates as it would have live.
 */
export function curateLine(
  line: string,
  state: CurationState,
  now: number,
): { event: FeedEvent | null; state: CurationState } {
  const raw = parseRawEvent(line.trim());
  if (raw === null) return { event: null, state };
  const parsed = Date.parse(raw.ts);
  const at = Number.isNaN(parsed) ? now : parsed;
  let next = state;
  if (raw.type === "sling") {
    const recent = (state.slings[raw.actor] ?? []).filter((t) => at - t <= SLING_AGGREGATE_WINDOW_MS);
    next = { ...next, slings: { ...pruneSlings(state.slings, at), [raw.actor]: [...recent, at] } };
  }
  if (raw.visibility !== "feed" && raw.visibility !== "both") return { event: null, state: next };
  if (raw.type === "done") {
    const last = state.lastDone[raw.actor];
    if (last !== undefined && Math.abs(at - last) <= DONE_DEDUPE_WINDOW_MS)
      return { event: null, state: next };
    next = { ...next, lastDone: { ...pruneDone(next.lastDone, at), [raw.actor]: at } };
  }
  let summary = summarize(raw);
  let count: number | undefined;
  if (raw.type === "sling") {
    const slings = (next.slings[raw.actor] ?? []).length;
    if (slings >= SLING_AGGREGATE_MIN) {
      count = slings;
      summary = `${raw.actor} dispatching work to ${slings} agents`;
    }
  }
  const hasPayload = raw.payload !== undefined && Object.keys(raw.payload).length > 0;
  const event: FeedEvent = {
    ts: raw.ts,
    source: raw.source,
    type: raw.type,
    actor: raw.actor,
    summary,
    ...(hasPayload ? { payload: raw.payload } : {}),
    ...(count === undefined ? {} : { count }),
  };
  return { event, state: next };
}

function pruneDone(lastDone: Readonly<Record<string, number>>, at: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(lastDone).filter(([, t]) => Math.abs(at - t) <= DONE_DEDUPE_WINDOW_MS),
  );
}

function pruneSlings(
  slings: Readonly<Record<string, readonly number[]>>,
  at: number,
): Record<string, readonly number[]> {
  const kept: Record<string, readonly number[]> = {};
  for (const [actor, times] of Object.entries(slings)) {
    const recent = times.filter((t) => at - t <= SLING_AGGREGATE_WINDOW_MS);
    if (recent.length > 0) kept[actor] = recent;
  }
  return kept;
}

const text = (payload: RawEvent["payload"], key: string): string | undefined => {
  const value = payload?.[key];
  return typeof value === "string" ? value : undefined;
};

/** The reference curator's summaries, by event type; townd's own alerts show their message. */
export function summarize(event: RawEvent): string {
  const { actor, payload } = event;
  switch (event.type) {
    case "sling": {
      const target = text(payload, "target");
      const bead = text(payload, "bead");
      return target !== undefined && bead !== undefined
        ? `${actor} assigned ${bead} to ${target}`
        : `${actor} dispatched work`;
    }
    case "done": {
      const bead = text(payload, "bead");
      return bead !== undefined ? `${actor} completed work on ${bead}` : `${actor} signaled done`;
    }
    case "handoff":
      return `${actor} handed off to fresh session`;
    case "mail": {
      const to = text(payload, "to");
      const subject = text(payload, "subject");
      return to !== undefined && subject !== undefined
        ? `${actor} → ${to}: ${subject}`
        : `${actor} sent mail`;
    }
    case "patrol_started": {
      const rig = text(payload, "rig");
      return rig !== undefined ? `${actor} patrol started for ${rig}` : `${actor} started patrol`;
    }
    case "patrol_complete":
      return text(payload, "message") ?? `${actor} completed patrol`;
    case "merged": {
      const worker = text(payload, "worker");
      return worker !== undefined ? `Merged work from ${worker}` : "Work merged";
    }
    case "merge_failed": {
      const reason = text(payload, "reason");
      return reason !== undefined ? `Merge failed: ${reason}` : "Merge failed";
    }
    case "session_death": {
      const session = text(payload, "session") ?? "";
      const reason = text(payload, "reason") ?? "";
      if (session !== "" && reason !== "") return `Session ${session} terminated: ${reason}`;
      return session !== "" ? `Session ${session} terminated` : "Session terminated";
    }
    case "mass_death": {
      const count = payload?.["count"];
      const n = typeof count === "number" && Number.isFinite(count) ? Math.trunc(count) : 0;
      const cause = text(payload, "possible_cause") ?? "";
      if (n > 0 && cause !== "") return `MASS DEATH: ${n} sessions died - ${cause}`;
      if (n > 0) return `MASS DEATH: ${n} sessions died simultaneously`;
      return "Multiple sessions died simultaneously";
    }
    default:
      // townd's alerts (crash_loop, failed_to_start, …) carry their message; anything else says who and what.
      return text(payload, "message") ?? `${actor}: ${event.type}`;
  }
}
