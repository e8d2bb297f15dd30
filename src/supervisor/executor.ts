import { mkdirSync } from "node:fs";
import { newGenerationId } from "../agents/env.js";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { Action } from "../policy/plan.js";
import type { AgentRecord } from "../policy/record.js";
import { noteSpawnFailed, noteSpawned } from "../policy/spawn-result.js";
import { killProcessTree } from "../proc/tree.js";
import type { TmuxClient } from "../tmux/client.js";
import type { Nudger } from "../tmux/nudge.js";
import type { TownConfig } from "../town/config.js";
import { parseScreen } from "../activity/screen.js";
import { dialogShown, readerFor } from "../activity/startup-screen.js";
import { runtimeFor, spawnSpec } from "./spawn-spec.js";
import { chooseInMenu } from "./pane-keys.js";
import { PERMISSION_MENU, WALL_MENUS } from "../activity/midsession.js";
import type { Startups } from "./startups.js";

/** How many of a dead pane's last lines are kept with its respawn (for `townd why`). */
const LAST_LINES = 20;

/** What carrying out one action did; `record` is the agent's record afterwards. */
export interface ActionResult {
  readonly action: Action;
  readonly ok: boolean;
  readonly detail: string;
  readonly record: AgentRecord;
  readonly generation?: string;
  /** The last lines a dead pane showed before it was respawned (for `townd why`). */
  readonly lastLines?: string;
}

export interface ExecutorDeps {
  readonly client: TmuxClient;
  readonly nudger: Nudger;
  readonly townRoot: string;
  readonly now: () => number;
  /** Where each new generation's start-up sequence runs. */
  readonly startups: Startups;
}

/**
 * Carries out the planner's actions through tmux: spawn, respawn (killing a zombie's or hung agent's
 * process tree first), kill, nudge. Each spawn gets a new generation and a start-up sequence that runs in
 * the background, so a slow agent never holds up a pass (I8).
 */
export class Executor {
  private readonly deps: ExecutorDeps;

  constructor(deps: ExecutorDeps) {
    this.deps = deps;
  }

  async execute(
    action: Action,
    agent: DesiredAgent,
    record: AgentRecord,
    context: {
      config: TownConfig;
      log: Logger;
      signal: AbortSignal;
      /** Told the new generation of a spawn or respawn just before tmux is asked to start it. */
      onGeneration?: ((generation: string) => void) | undefined;
    },
  ): Promise<ActionResult> {
    const { config, log, signal } = context;
    const { client, now } = this.deps;
    try {
      switch (action.kind) {
        case "nudge": {
          // Never into a dialog or menu: its Enter would choose an option the agent's user never chose.
          const dialog = await this.dialogOnScreen(agent, action.session, config, signal);
          if (dialog !== null) {
            log.warn({ agent: action.identity }, `Not nudging ${action.identity}: ${dialog} is on screen`);
            return { action, ok: false, detail: `not nudged: ${dialog} is on screen`, record };
          }
          // Not awaited: a nudge takes most of a second and must not hold up the pass (I8).
          this.deps.nudger.nudge(action.session, action.message, { signal }).then(
            () => {
              log.info({ agent: action.identity }, `Nudged ${action.identity}: ${action.reason}`);
            },
            (error: unknown) => {
              log.warn({ agent: action.identity }, `Cannot nudge ${action.identity}: ${errorMessage(error)}`);
            },
          );
          return { action, ok: true, detail: "nudge sent", record };
        }
        case "keys":
          return await this.sendKeys(action, agent, record, config, log, signal);
        case "kill": {
          this.deps.startups.cancel(action.identity, "session killed");
          await this.killPaneTree(action.session, config, signal);
          await client.killSession(action.session, { signal }).catch(() => undefined);
          log.info({ agent: action.identity }, `Killed session ${action.session}: ${action.reason}`);
          return {
            action,
            ok: true,
            detail: "session killed",
            record: { ...record, lastReason: action.reason },
          };
        }
        case "spawn":
        case "respawn": {
          const armed = action.kind === "respawn" ? action.armed : undefined;
          const generation = armed ?? newGenerationId(now(), Math.random);
          const resume = action.kind === "respawn" ? action.resume : undefined;
          const spec = spawnSpec(agent.id, action.session, generation, config, this.deps.townRoot, resume);
          mkdirSync(spec.cwd, { recursive: true });
          if (spec.hooksProblem !== undefined)
            log.warn({ agent: action.identity }, `Claude hooks for ${action.identity}: ${spec.hooksProblem}`);
          let lastLines: string | undefined;
          if (armed !== undefined) {
            // tmux already started it from the pane's armed hook, which kept the dead pane's lines.
            lastLines = await client.armed.takeLines(action.session, { signal });
          } else if (action.kind === "respawn") {
            const pane = {
              cwd: spec.cwd,
              argv: spec.argv,
              env: spec.env,
              generation,
              identity: action.identity,
            };
            if (action.killTree) {
              lastLines = await client
                .capturePane(action.session, LAST_LINES, { signal })
                .catch(() => undefined);
              await this.killPaneTree(action.session, config, signal);
              context.onGeneration?.(generation);
              await client.respawnPane(action.session, pane, { signal });
            } else {
              // A dead pane: its last lines and the respawn in one tmux call.
              context.onGeneration?.(generation);
              lastLines = await client.respawnPane(action.session, pane, {
                signal,
                captureLines: LAST_LINES,
              });
            }
          } else {
            const session = { name: action.session, cwd: spec.cwd, argv: spec.argv, env: spec.env };
            context.onGeneration?.(generation);
            await client.newSession({ ...session, generation, identity: action.identity }, { signal });
          }
          log.info(
            { agent: action.identity, generation, runtime: spec.runtime.name },
            `Started ${action.identity} in session ${action.session} (generation ${generation}, ${spec.runtime.name}${armed === undefined ? "" : ", by tmux from its armed pane-died hook"}): ${action.reason}`,
          );
          this.deps.startups.begin(
            {
              agent,
              generation,
              runtime: spec.runtime,
              topic: action.topic,
              answers: config.daemon.dialogAnswers,
            },
            log,
          );
          const spawned = noteSpawned(record, {
            generation,
            at: now(),
            reason: action.reason,
            manual: action.manual,
          });
          return {
            action,
            ok: true,
            detail: `started generation ${generation}`,
            record: spawned,
            generation,
            ...(lastLines === undefined ? {} : { lastLines }),
          };
        }
      }
    } catch (error) {
      const message = errorMessage(error);
      if (!signal.aborted)
        log.error({ agent: action.identity }, `Cannot ${action.kind} ${action.identity}: ${message}`);
      const failed =
        action.kind === "spawn" || action.kind === "respawn"
          ? noteSpawnFailed(record, { at: now(), message }, config.daemon.restart)
          : record;
      return { action, ok: false, detail: message, record: failed };
    }
  }

  /**
   * Conduct's keys, each only with the screen it is meant for: the usage-limit menu's wait option and a
   * continuation nudge at a wall's wake, Escape to interrupt a stalled turn (never into a dialog), and a
   * permission prompt's plain "Yes" when an approval rule allows the command.
   */
  private async sendKeys(
    action: Extract<Action, { kind: "keys" }>,
    agent: DesiredAgent,
    record: AgentRecord,
    config: TownConfig,
    log: Logger,
    signal: AbortSignal,
  ): Promise<ActionResult> {
    const { client } = this.deps;
    const done = (ok: boolean, detail: string): ActionResult => ({ action, ok, detail, record });
    switch (action.keys) {
      case "escape": {
        const dialog = await this.dialogOnScreen(agent, action.session, config, signal);
        if (dialog !== null) return done(false, `no Escape: ${dialog} is on screen`);
        await client.sendKey(action.session, "Escape", { signal });
        return done(true, "Escape sent");
      }
      case "approve": {
        const chosen = await chooseInMenu(client, action.session, [PERMISSION_MENU], signal);
        if (chosen.kind === "chosen")
          return done(true, `answered "${chosen.option}" in the ${chosen.menu} prompt`);
        return done(false, chosen.kind === "absent" ? "no permission prompt on screen" : chosen.why);
      }
      case "wall-wake": {
        const chosen = await chooseInMenu(client, action.session, WALL_MENUS, signal);
        if (chosen.kind === "refused") return done(false, chosen.why);
        const answered = chosen.kind === "chosen" ? `answered "${chosen.option}", ` : "";
        const message = action.message;
        if (message === undefined) return done(true, `${answered}nothing to type`);
        const nudged = await this.execute({ ...action, kind: "nudge", message }, agent, record, {
          config,
          log,
          signal,
        });
        return done(nudged.ok, `${answered}${nudged.detail}`);
      }
    }
  }

  /** The dialog or menu the agent's screen shows, by its runtime's profile; null when none (or unreadable). */
  private async dialogOnScreen(
    agent: DesiredAgent,
    session: string,
    config: TownConfig,
    signal: AbortSignal,
  ): Promise<string | null> {
    try {
      const runtime = runtimeFor(agent.id, config);
      const reader = readerFor(runtime, config.daemon.dialogAnswers);
      return dialogShown(parseScreen(await this.deps.client.captureScreen(session, { signal })), reader);
    } catch {
      return null;
    }
  }

  /** Asks tmux for this one pane (not a snapshot of all of them), then kills its process tree. */
  private async killPaneTree(session: string, config: TownConfig, signal: AbortSignal): Promise<void> {
    const pid = await this.deps.client.livePanePid(session, { signal });
    if (pid !== null && pid > 1) {
      await killProcessTree(pid, { graceMs: config.daemon.killGracePeriodMs, signal });
    }
  }
}
