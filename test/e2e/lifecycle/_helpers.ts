import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, processEnv, TOWN_MARK, type SupervisedTown } from "../../helpers/supervised-town.js";
import { withTownDb } from "../../helpers/store.js";
import { until } from "../../helpers/wait.js";

/**
 * Shared by the lifecycle-request e2e tests: direct access to the town store (daemon/town.db) the way an
 * outside tool would reach it (better-sqlite3, WAL, a busy timeout, short-lived connections), tmux
 * generation probes, and bounded polling.
 */

export { sleep, until } from "../../helpers/wait.js";
export {
  eventRows,
  mailRows,
  requestRow,
  requestRows,
  storeFile,
  withTownDb,
  type EventRow,
  type MailRow,
  type RequestRow,
} from "../../helpers/store.js";

let inserted = 0;

/**
 * Puts a message straight into the store, bypassing the CLI's address checks: what a foreign or hostile
 * tool could write. Returns its id.
 */
export function insertMail(
  town: SupervisedTown,
  fields: {
    from: string;
    to?: string;
    subject: string;
    body: string;
    createdAt?: Date | string;
    read?: boolean;
  },
): string {
  inserted += 1;
  const id = `msg-test${Date.now().toString(36)}${inserted.toString().padStart(4, "0")}`;
  const createdAt =
    typeof fields.createdAt === "string" ? fields.createdAt : (fields.createdAt ?? new Date()).toISOString();
  withTownDb(town, (db) => {
    db.prepare(
      `INSERT INTO mail (id, from_id, to_id, subject, body, created_at, read, priority, type)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'normal', 'message')`,
    ).run(
      id,
      fields.from,
      fields.to ?? "deacon",
      fields.subject,
      fields.body,
      createdAt,
      fields.read === true ? 1 : 0,
    );
  });
  return id;
}

/** The creation time a store message id carries (`msg-<epoch ms in base 36><8 hex>`). */
export function mailIdTime(id: string): number {
  const match = /^msg-([0-9a-z]+)[0-9a-f]{8}$/.exec(id);
  if (match?.[1] === undefined) throw new Error(`not a store message id: ${id}`);
  return parseInt(match[1], 36);
}

/** The `@townd_generation` of the pane of `session` ("" when it has none, undefined when there is no session). */
export async function generationOf(town: SupervisedTown, session: string): Promise<string | undefined> {
  const result = await town.tmux(["list-panes", "-t", `=${session}:`, "-F", "#{@townd_generation}"]);
  if (result.code !== 0) return undefined;
  return result.stdout.trim();
}

/** Types `text` literally into the session's pane, then presses Enter (resolves when tmux took the Enter). */
export async function typeLine(town: SupervisedTown, session: string, text: string): Promise<void> {
  const typed = await town.tmux(["send-keys", "-t", `=${session}:`, "-l", text]);
  if (typed.code !== 0) throw new Error(`send-keys to ${session} failed: ${typed.stderr}`);
  const entered = await town.tmux(["send-keys", "-t", `=${session}:`, "Enter"]);
  if (entered.code !== 0) throw new Error(`send-keys Enter to ${session} failed: ${entered.stderr}`);
}

/** SIGKILLs the town's daemon, after checking by its environment that the PID is this town's; waits until gone. */
export async function killDaemonHard(town: SupervisedTown): Promise<number> {
  const pid = town.daemonPid();
  if (pid === undefined) throw new Error("no daemon PID file");
  if (processEnv(pid)[TOWN_MARK] !== town.root) throw new Error(`PID ${pid} is not this town's daemon`);
  process.kill(pid, "SIGKILL");
  await until(`daemon PID ${pid} to be gone`, () => !isAlive(pid), 5000);
  return pid;
}

/** The daemon log lines as raw text (to check that every line is one JSON record). */
export function rawLogLines(town: SupervisedTown): string[] {
  const file = join(town.root, "daemon", "daemon.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "");
}
