import type { TownEvent } from "../store/events.js";
import { errorMessage } from "../errors.js";

/** What the dashboard and the metrics read of one agent in `townd status --json` (agents-file.ts). */
export interface AgentStatusView {
  readonly identity: string;
  readonly role: string;
  readonly rig: string | null;
  readonly state: string;
  readonly generation: string | null;
  readonly started_at: string | null;
  readonly last_death_at: string | null;
  readonly restarts_auto: number;
  readonly restarts_manual: number;
  readonly detail?: string | null | undefined;
  readonly activity?:
    | {
        readonly state: string;
        readonly since: string;
        readonly detail: string;
        readonly resets_at: string | null;
        readonly limit: string | null;
      }
    | null
    | undefined;
}

/** The `townd status --json` document the control API serves (src/daemon/daemon.ts builds it). */
export interface StatusDocument {
  readonly daemon: Record<string, unknown>;
  readonly tmux: { readonly socket: string | null };
  readonly agents_updated_at: string | null;
  readonly agents: readonly AgentStatusView[];
  readonly problems: readonly string[];
}

/** What the dashboard reads from the daemon: the control API's own handlers, and change notices. */
export interface TownSource {
  status(): StatusDocument;
  events(query: URLSearchParams): TownEvent[];
  eventsAfter(query: URLSearchParams, afterId: number): TownEvent[];
  onChange(listener: () => void): () => void;
}

/** One batch of news: the events recorded since the last batch, and the statuses as they are now. */
export interface FeedUpdate {
  readonly events: readonly TownEvent[];
  readonly status: StatusDocument;
}

const EVERY_EVENT = new URLSearchParams();

/**
 * Turns the daemon's change notices into batches: notices that come close together (a pass records many
 * events) are read as one, after `coalesceMs`, with one query for the new events and one status. Nothing
 * is read while nothing changes.
 */
export class TownFeed {
  private readonly source: TownSource;
  private readonly coalesceMs: number;
  private readonly onProblem: (message: string) => void;
  private readonly subscribers = new Set<(update: FeedUpdate) => void>();
  private lastId = 0;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastProblem = "";

  constructor(source: TownSource, options: { coalesceMs?: number; onProblem: (message: string) => void }) {
    this.source = source;
    this.coalesceMs = options.coalesceMs ?? 25;
    this.onProblem = options.onProblem;
  }

  /** From now on: events already recorded are history, not news. */
  start(): void {
    if (this.unsubscribe !== undefined) return;
    this.lastId = this.read(() => this.source.events(new URLSearchParams({ limit: "1" })).at(-1)?.id) ?? 0;
    this.unsubscribe = this.source.onChange(() => {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.coalesceMs);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.subscribers.clear();
  }

  subscribe(subscriber: (update: FeedUpdate) => void): () => void {
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  private flush(): void {
    const events = this.read(() => this.source.eventsAfter(EVERY_EVENT, this.lastId)) ?? [];
    const last = events.at(-1);
    if (last !== undefined) this.lastId = last.id;
    const status = this.read(() => this.source.status());
    if (status === undefined) return;
    for (const subscriber of this.subscribers) {
      try {
        subscriber({ events, status });
      } catch (error) {
        this.problem(`Dashboard feed: ${errorMessage(error)}`);
      }
    }
  }

  private read<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      this.problem(`Dashboard feed cannot read the daemon's state: ${errorMessage(error)}`);
      return undefined;
    }
  }

  private problem(message: string): void {
    if (message !== this.lastProblem) this.onProblem(message);
    this.lastProblem = message;
  }
}
