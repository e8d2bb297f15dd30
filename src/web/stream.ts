import type { IncomingMessage, ServerResponse } from "node:http";
import type { TownEvent } from "../store/events.js";
import type { FeedUpdate, StatusDocument, TownFeed, TownSource } from "./feed.js";

/** What the page is sent as `state`: the status document with what the dashboard adds to it. */
export interface PageState {
  readonly body: Record<string, unknown>;
  /** When the state changes by time alone (a permission wait reaching its limit), epoch ms. */
  readonly nextChangeAt: number | null;
}

export interface StreamOptions {
  readonly feed: TownFeed;
  readonly source: TownSource;
  readonly state: (status: StatusDocument) => PageState;
  /** A comment line this often keeps proxies and the browser from timing the stream out. */
  readonly keepAliveMs?: number;
  /** How many past events a new page gets. */
  readonly backlog?: number;
}

const NONE = new URLSearchParams();

/** One Server-Sent Events message; JSON never holds a raw newline, so `data` is one line. */
function message(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The page's live view, pushed: `state` (the whole status, sent again whenever it changes) and `events`
 * (new events as they are recorded). A browser that reconnects sends Last-Event-ID and gets only what it
 * missed. The daemon pushes on its change notices (TownFeed); the browser never polls.
 */
export function openStream(req: IncomingMessage, res: ServerResponse, options: StreamOptions): void {
  const { feed, source } = options;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
  });
  res.write("retry: 2000\n\n");
  let lastState = "";
  let timeTimer: NodeJS.Timeout | undefined;
  const sendState = (status: StatusDocument): void => {
    const state = options.state(status);
    // Sent only when it changed; the time it was sent at comes with it (the page ages times by it).
    const text = JSON.stringify(state.body);
    if (text !== lastState) res.write(message("state", { ...state.body, now: new Date().toISOString() }));
    lastState = text;
    clearTimeout(timeTimer);
    timeTimer =
      state.nextChangeAt === null
        ? undefined
        : setTimeout(
            () => {
              sendState(source.status());
            },
            Math.max(0, state.nextChangeAt - Date.now()) + 50,
          );
  };
  const sendEvents = (events: readonly TownEvent[]): void => {
    const last = events.at(-1);
    if (last !== undefined) res.write(message("events", events, last.id));
  };

  const resumeFrom = Number(req.headers["last-event-id"]);
  sendState(source.status());
  sendEvents(
    Number.isSafeInteger(resumeFrom) && resumeFrom > 0
      ? source.eventsAfter(NONE, resumeFrom)
      : source.events(new URLSearchParams({ limit: String(options.backlog ?? 100) })),
  );
  const unsubscribe = feed.subscribe((update: FeedUpdate) => {
    sendEvents(update.events);
    sendState(update.status);
  });
  const keepAlive = setInterval(() => {
    res.write(": keep-alive\n\n");
  }, options.keepAliveMs ?? 15_000);
  const close = (): void => {
    unsubscribe();
    clearInterval(keepAlive);
    clearTimeout(timeTimer);
  };
  req.on("close", close);
  res.on("error", close);
}
