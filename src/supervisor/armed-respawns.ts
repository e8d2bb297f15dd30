import { mkdirSync } from "node:fs";
import { newGenerationId } from "../agents/env.js";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import { deadPaneReason } from "../observe/liveness.js";
import type { ArmingPlan } from "../policy/arming.js";
import type { Decision } from "../policy/plan.js";
import type { DesiredAgent } from "../policy/desired.js";
import type { AgentRecord, TownPolicyState } from "../policy/record.js";
import { armCommand, disarmCommand, type ArmingCommand } from "../tmux/armed-hook.js";
import type { TmuxClient } from "../tmux/client.js";
import type { TownConfig } from "../town/config.js";
import { ArmedBook, armingAfterPass, type ArmedPane } from "./armed-book.js";
import type { ObservedAgent } from "./observe.js";
import { spawnSpec } from "./spawn-spec.js";

/** An agent whose pane's hook is armed: the generation tmux will start, and the town it was built for. */
interface Armed extends ArmedPane {
  /** The settings its command line came from (settingsKey): changed settings arm it again. */
  readonly settings: string;
}

export interface ArmedRespawnsDeps {
  readonly client: TmuxClient;
  readonly townRoot: string;
  /** The global pane-died hook's body: an armed hook wakes the daemon the same way. */
  readonly wake: string;
  readonly now: () => number;
  /** Whether an agent's start-up sequence still runs (it is armed once that is done). */
  readonly isStarting: (identity: string) => boolean;
}

/**
 * The daemon's side of pre-armed respawns (src/policy/arming.ts, src/tmux/armed-hook.ts): it arms and
 * disarms panes as each pass's plan says, disarms an agent before the daemon itself kills or respawns it
 * (so tmux and the daemon never both answer one death), and turns a respawn tmux made into an observation
 * the planner records. What is armed is known only here: a daemon that starts disarms every pane first.
 */
export class ArmedRespawns {
  private readonly book = new ArmedBook<Armed>();
  private readonly deps: ArmedRespawnsDeps;
  /** The allowance tmux holds now, as last set (-1: unknown, set it at the next pass). */
  private limit = -1;

  constructor(deps: ArmedRespawnsDeps) {
    this.deps = deps;
  }

  /** At start-up: nothing is armed (an earlier daemon's hooks are taken down) and counting starts afresh. */
  async reset(sessions: readonly string[], signal: AbortSignal): Promise<void> {
    this.book.start(await this.deps.client.armed.fired({ signal }));
    await this.setLimit(this.book.floor, signal);
    await this.run(sessions.map(disarmCommand), signal);
  }

  /**
   * Agents whose armed hook respawned them since the last pass, seen as what happened to them: a death
   * (counted by the planner, with the exit the hook kept) and a respawn tmux made (armedRespawn), which the
   * planner records.
   */
  async fired(
    observed: readonly ObservedAgent[],
    records: ReadonlyMap<string, AgentRecord>,
    signal: AbortSignal,
  ): Promise<ObservedAgent[]> {
    return Promise.all(
      this.book.fired(observed, records).map(async (agent) => {
        if (agent.armedRespawn === undefined) return agent;
        const exit = await this.deps.client.armed.takeExit(agent.desired.session, { signal });
        return exit === undefined ? agent : { ...agent, verdictReason: deadPaneReason(exit) };
      }),
    );
  }

  /** The tmux server was started again: no pane is armed, and its fired count starts at 0. */
  serverLost(): void {
    this.book.serverRestarted();
    this.limit = -1;
  }

  /** Before the daemon acts on these agents: their hooks are taken down (the act decides, not tmux). */
  async disarm(identities: Iterable<string>, log: Logger, signal: AbortSignal): Promise<void> {
    const sessions = this.book.take(identities).map((armed) => armed.session);
    const failed = await this.run(sessions.map(disarmCommand), signal);
    // A session that vanished has nothing armed; any other failure is worth a line.
    if (failed.length > 0) log.warn(`Cannot disarm the respawn of ${failed.join(", ")} (gone?)`);
  }

  /**
   * After a pass: arms what its outcome says (disarms everything when the town turned the feature off).
   * Returns when an agent too young to be armed now may be: the daemon passes again then.
   */
  async afterPass(pass: {
    readonly observed: readonly ObservedAgent[];
    readonly decisions: readonly Decision[];
    readonly records: ReadonlyMap<string, AgentRecord>;
    readonly town: TownPolicyState;
    readonly serverRestarted: boolean;
    readonly agents: ReadonlyMap<string, DesiredAgent>;
    readonly config: TownConfig;
    readonly log: Logger;
    readonly signal: AbortSignal;
  }): Promise<number | null> {
    const { config, log, signal } = pass;
    const { daemon } = config;
    const arming = armingAfterPass(daemon, {
      ...pass,
      now: this.deps.now(),
      starting: this.deps.isStarting,
    });
    await this.apply(arming, pass.agents, config, log, signal);
    return arming.wakeAt;
  }

  /** The panes armed become exactly the plan's, and tmux may spend `plan.tokens` more. */
  async apply(
    plan: ArmingPlan,
    agents: ReadonlyMap<string, DesiredAgent>,
    config: TownConfig,
    log: Logger,
    signal: AbortSignal,
  ): Promise<void> {
    const settings = settingsKey(config);
    const disarms = this.book
      .release(plan, (pane) => pane.settings === settings)
      .map((armed) => disarmCommand(armed.session));
    const arms: [string, Armed, ArmingCommand][] = [];
    for (const identity of this.book.toArm(plan)) {
      const agent = agents.get(identity);
      if (agent === undefined) continue;
      const generation = newGenerationId(this.deps.now(), Math.random);
      try {
        const spec = spawnSpec(agent.id, agent.session, generation, config, this.deps.townRoot);
        mkdirSync(spec.cwd, { recursive: true });
        const command = armCommand(agent.session, { ...spec, generation }, this.deps.wake);
        arms.push([identity, { session: agent.session, generation, settings }, command]);
      } catch (error) {
        log.warn({ agent: identity }, `Not arming ${identity}'s respawn: ${errorMessage(error)}`);
      }
    }
    const limit = this.book.limit(plan.tokens);
    if (disarms.length + arms.length === 0 && limit === this.limit) return;
    // Disarmed before the allowance grows, armed after it is set: tmux never holds an allowance the plan
    // did not give to the panes it arms.
    const failed = await this.run(disarms, signal);
    await this.setLimit(limit, signal);
    let armed = 0;
    for (const [identity, pane, command] of arms) {
      // In the book first: a command cut short by an abort may have armed the pane all the same.
      this.book.arm(identity, pane);
      if ((await this.run([command], signal)).length === 0) armed += 1;
      else {
        this.book.take([identity]);
        failed.push(pane.session);
      }
    }
    if (failed.length > 0) log.warn(`Cannot arm or disarm the respawn of ${failed.join(", ")} (gone?)`);
    if (armed + disarms.length > 0)
      log.info(
        { armed: this.book.identities().size, allowance: plan.tokens },
        `Respawn armed in tmux for ${this.book.identities().size} agent(s), at most ${plan.tokens} before the next pass (${armed} armed, ${disarms.length} disarmed now)`,
      );
  }

  /** Whether `identity`'s pane is armed now: tmux respawns it when it dies, while the allowance lasts. */
  isArmed(identity: string): boolean {
    return this.book.identities().has(identity);
  }

  /** Gives tmux this allowance; until tmux has it, the one it holds is unknown (set again next pass). */
  private async setLimit(limit: number, signal: AbortSignal): Promise<void> {
    this.limit = -1;
    await this.deps.client.armed.setLimit(limit, { signal });
    this.limit = limit;
  }

  /** Runs arm or disarm commands one by one; returns the sessions whose command failed. */
  private async run(commands: readonly ArmingCommand[], signal: AbortSignal): Promise<string[]> {
    const failed: string[] = [];
    for (const command of commands) {
      await this.deps.client.armed.setArming(command, { signal }).catch((error: unknown) => {
        if (signal.aborted) throw error;
        failed.push(command.session);
      });
    }
    return failed;
  }

  /** The daemon stops: no pane is left armed, so nothing respawns while no daemon supervises. */
  async disarmAll(signal: AbortSignal): Promise<void> {
    const sessions = this.book.takeAll().map((armed) => armed.session);
    if (sessions.length === 0) return;
    await this.setLimit(this.book.floor, signal);
    await this.run(sessions.map(disarmCommand), signal);
  }
}

/** Pane hooks (`set-hook -p`) and format comparisons (`#{e|<:…}`) came with tmux 3.2. */
export function supportsArmedHooks(version: string): boolean {
  const match = /(\d+)\.(\d+)/.exec(version);
  if (match === null) return version.includes("master") || version.includes("next");
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 3 || (major === 3 && minor >= 2);
}

/**
 * What an agent's command line is built from besides its identity: the town's and the rigs' settings files
 * (runtimes, env, telemetry). The daemon reads them at every pass, so this, not the object, tells a change.
 */
function settingsKey(config: TownConfig): string {
  return JSON.stringify([config.settings, [...config.rigSettings]]);
}
