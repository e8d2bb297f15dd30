import type { DialogAnswers } from "../activity/dialogs.js";
import { runStartup, type StartupStep } from "../activity/startup.js";
import type { ResolvedRuntime } from "../agents/runtime.js";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { TmuxClient } from "../tmux/client.js";
import type { Nudger } from "../tmux/nudge.js";
import type { TownConfig } from "../town/config.js";
import type { ObservedAgent } from "./observe.js";
import { runtimeFor } from "./spawn-spec.js";
import type { PendingStartup, StartupJournal } from "./startup-journal.js";

/** Something an agent's start-up did that the daemon records (and, for needs-human, tells a person). */
export interface StartupNotice {
  readonly type: "dialog_answered" | "needs_human" | "needs_human_cleared";
  readonly identity: string;
  readonly generation: string;
  readonly message: string;
  /** The screen that needs a person (plain text), for `why` and the alert. */
  readonly screen?: string;
}

export interface StartupsDeps {
  readonly client: Pick<TmuxClient, "captureScreen" | "sendKey">;
  readonly nudger: Pick<Nudger, "nudge">;
  readonly betweenNudgesMs: number;
  readonly now: () => number;
  readonly journal: StartupJournal;
  readonly onNotice: (notice: StartupNotice) => void;
  /** An agent's start-up sequence ended: a pass can observe the new state at once. */
  readonly onDone: () => void;
}

interface Running {
  readonly generation: string;
  readonly controller: AbortController;
  /** Why a person is needed, while a dialog townd may not answer is on screen. */
  blockedBy: string | null;
}

export interface StartupRequest {
  readonly agent: DesiredAgent;
  readonly generation: string;
  readonly runtime: ResolvedRuntime;
  readonly topic: string;
  readonly answers: DialogAnswers;
  /** Steps an earlier daemon already sent for this generation. */
  readonly done?: readonly StartupStep[];
}

/**
 * The start-up sequences in flight, one per agent at most: each belongs to one generation and is aborted
 * once that generation dies or is replaced. Their progress is journalled so a daemon restart resumes them.
 */
export class Startups {
  private readonly deps: StartupsDeps;
  private readonly running = new Map<string, Running>();

  constructor(deps: StartupsDeps) {
    this.deps = deps;
  }

  isStarting(identity: string): boolean {
    return this.running.has(identity);
  }

  /** Why the agent's start-up waits for a person, or null. */
  blockedBy(identity: string): string | null {
    return this.running.get(identity)?.blockedBy ?? null;
  }

  begin(request: StartupRequest, log: Logger): void {
    const { agent, generation, runtime, topic } = request;
    const identity = agent.identity;
    this.cancel(identity, "replaced by a new generation");
    const controller = new AbortController();
    const running: Running = { generation, controller, blockedBy: null };
    this.running.set(identity, running);
    const { journal, onNotice } = this.deps;
    journal.begin(identity, generation, topic, request.done);
    const notice = (type: StartupNotice["type"], message: string, screen?: string): void => {
      onNotice({ type, identity, generation, message, ...(screen === undefined ? {} : { screen }) });
    };
    runStartup(
      {
        id: agent.id,
        identity,
        session: agent.session,
        runtime,
        topic,
        done: new Set(request.done ?? []),
      },
      {
        client: this.deps.client,
        nudger: this.deps.nudger,
        betweenNudgesMs: this.deps.betweenNudgesMs,
        now: () => new Date(this.deps.now()),
        answers: request.answers,
        events: {
          dialogAnswered: (dialog, option) => {
            notice("dialog_answered", `answered the ${dialog.title} dialog with "${option}"`);
          },
          needsHuman: (why, screen) => {
            running.blockedBy = why;
            notice("needs_human", `start-up waits for a person: ${why}; townd sends no keys`, screen);
          },
          unblocked: () => {
            running.blockedBy = null;
            notice("needs_human_cleared", "the dialog is gone; start-up goes on");
          },
          sent: (step) => {
            journal.sent(identity, generation, step);
          },
        },
      },
      controller.signal,
    )
      .then(
        (outcome) => {
          journal.end(identity, generation);
          if (outcome === "prompt-timeout") {
            const waited = `${runtime.readyTimeoutMs / 1000}s`;
            log.warn({ agent: identity }, `${identity}: no ready prompt within ${waited}; nudged anyway`);
          } else {
            log.info({ agent: identity, generation }, `${identity}: start-up complete`);
          }
          this.deps.onDone();
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          journal.end(identity, generation);
          log.warn({ agent: identity }, `${identity}: start-up sequence failed: ${errorMessage(error)}`);
        },
      )
      .finally(() => {
        if (this.running.get(identity)?.generation === generation) this.running.delete(identity);
      });
  }

  /**
   * Resumes the start-up sequences an earlier daemon left unfinished, for agents still running the same
   * generation; the steps it had sent are not sent again. The rest are forgotten.
   */
  resume(
    pending: readonly PendingStartup[],
    observed: readonly ObservedAgent[],
    config: TownConfig,
    log: Logger,
  ): void {
    for (const entry of pending) {
      const agent = observed.find((a) => a.desired.identity === entry.identity);
      const current =
        agent !== undefined && agent.verdict === "alive" && agent.generation === entry.generation;
      if (!current || this.running.has(entry.identity)) {
        this.deps.journal.end(entry.identity, entry.generation);
        continue;
      }
      let runtime: ResolvedRuntime;
      try {
        runtime = runtimeFor(agent.desired.id, config);
      } catch {
        this.deps.journal.end(entry.identity, entry.generation);
        continue;
      }
      const left = ["beacon", "nudge"].filter((step) => !entry.done.includes(step as StartupStep));
      log.info(
        { agent: entry.identity, generation: entry.generation },
        `${entry.identity}: resuming its start-up sequence (left: ${left.join(", ") || "nothing"})`,
      );
      this.begin(
        {
          agent: agent.desired,
          generation: entry.generation,
          runtime,
          topic: entry.topic,
          answers: config.daemon.dialogAnswers,
          done: entry.done,
        },
        log,
      );
    }
  }

  /** A start-up sequence stops nudging once its generation is gone. */
  cancelStale(observed: readonly ObservedAgent[]): void {
    for (const agent of observed) {
      const running = this.running.get(agent.desired.identity);
      if (running === undefined) continue;
      if (agent.verdict !== "alive" || agent.generation !== running.generation) {
        this.cancel(agent.desired.identity, "agent died during start-up");
        this.deps.journal.end(agent.desired.identity, running.generation);
      }
    }
  }

  cancel(identity: string, why: string): void {
    this.running.get(identity)?.controller.abort(new Error(why));
    this.running.delete(identity);
  }

  /** At daemon stop: the journal keeps what is unfinished for the next daemon. */
  stopAll(): void {
    for (const identity of [...this.running.keys()]) this.cancel(identity, "daemon stopping");
    this.deps.journal.flush();
  }
}
