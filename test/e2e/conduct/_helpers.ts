import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { inputsOf, type SimEntry, type SupervisedTown } from "../../helpers/supervised-town.js";
import { storeEvents, type StoreEvent } from "../../helpers/store.js";
import { until } from "../../helpers/wait.js";

/**
 * Shared by the conduct e2e tests (what townd does about what agents are doing): readers for what the
 * daemon recorded and what the simulated agents received, and typing at an agent's prompt.
 */

export { sleep, until } from "../../helpers/wait.js";
export { storeEvents, type StoreEvent } from "../../helpers/store.js";

/** The store's events of `type`, of one agent when given, oldest first. */
export function eventsOf(town: SupervisedTown, type: string, identity?: string): StoreEvent[] {
  return storeEvents(town.root).filter(
    (e) => e.type === type && (identity === undefined || e.identity === identity),
  );
}

/** Conduct's acts on one agent (`conduct` events: a nudge, keys), oldest first. */
export function conductActs(town: SupervisedTown, identity: string): StoreEvent[] {
  return eventsOf(town, "conduct", identity);
}

/** Spawns of one agent that succeeded (`spawn_done` / `respawn_done`), oldest first. */
export function spawnsOf(town: SupervisedTown, identity: string): StoreEvent[] {
  return storeEvents(town.root).filter(
    (e) => e.identity === identity && (e.type === "spawn_done" || e.type === "respawn_done"),
  );
}

/** Sim-agent log entries of one generation and type, with every field they carry. */
export function simLogOf(
  town: SupervisedTown,
  generation: string,
  type: string,
): (SimEntry & Record<string, unknown>)[] {
  return town.simEntries().filter((e) => e.generation === generation && e.type === type) as (SimEntry &
    Record<string, unknown>)[];
}

/** The last lines of the daemon's log and of the store's events, for failure messages. */
export function diagnose(town: SupervisedTown, identity?: string): string {
  const log = town
    .log()
    .slice(-20)
    .map((r) => `${r.time} ${r.msg}`);
  const events = storeEvents(town.root)
    .filter((e) => identity === undefined || e.identity === identity)
    .slice(-20)
    .map((e) => `${e.ts} ${e.type} ${e.identity ?? "-"}: ${e.reason}`);
  return [...log, "-- events --", ...events].join("\n");
}

/**
 * Waits until an agent's activity (as the store's `activity` events record each change the moment a hook
 * or a screen shows it) is `state`; returns that event. Status shows activity as of the last pass.
 */
export async function untilActivity(
  town: SupervisedTown,
  identity: string,
  state: string,
  timeoutMs = 10_000,
): Promise<StoreEvent> {
  return until(
    `${identity} to be ${state}`,
    () => {
      const last = eventsOf(town, "activity", identity).at(-1);
      return last?.data["state"] === state ? last : undefined;
    },
    timeoutMs,
    () => diagnose(town, identity),
  );
}

/** Waits for the Deacon to run and finish its start-up; returns its generation and pid. */
export async function runningDeacon(town: SupervisedTown): Promise<{ generation: string; pid: number }> {
  const started = await town.waitFor(
    (s) => s.agents.some((a) => a.identity === "deacon" && a.state === "running"),
    30_000,
    "the Deacon to run",
  );
  const { generation, pid } = town.agent(started, "deacon");
  assert.ok(generation !== null && pid !== null);
  await startedUp(town, generation);
  return { generation, pid };
}

/** Waits until a generation of an agent has had its start-up beacon and propulsion nudge (both typed in). */
export async function startedUp(town: SupervisedTown, generation: string): Promise<void> {
  await until(
    `generation ${generation}'s propulsion nudge`,
    () => inputsOf(town.simEntries(), generation).some((e) => (e.text ?? "").startsWith("Run `gt ")),
    20_000,
    () => diagnose(town),
  );
}

/** Types `line` at a session's prompt and presses Enter, as a person at the terminal would. */
export async function typeLine(town: SupervisedTown, session: string, line: string): Promise<void> {
  const typed = await town.tmux(["send-keys", "-t", `=${session}:`, "-l", "--", line]);
  assert.equal(typed.code, 0, typed.stderr);
  const entered = await town.tmux(["send-keys", "-t", `=${session}:`, "Enter"]);
  assert.equal(entered.code, 0, entered.stderr);
}

/** Presses one key (tmux's name for it: Enter, Escape, Down…) in a session. */
export async function pressKey(town: SupervisedTown, session: string, key: string): Promise<void> {
  const pressed = await town.tmux(["send-keys", "-t", `=${session}:`, key]);
  assert.equal(pressed.code, 0, pressed.stderr);
}

/** The session's screen now. */
export async function screenOf(town: SupervisedTown, session: string): Promise<string> {
  return (await town.tmux(["capture-pane", "-p", "-t", `=${session}:`])).stdout;
}

/** Every JSON line a `cat >> FILE` notify_command appended, parsed. */
export function notifications(file: string): { type: string; message: string; agents: string[] }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { type: string; message: string; agents: string[] });
}
