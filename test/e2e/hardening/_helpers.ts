import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTown, testEnv, type TestTown } from "../../helpers/cli.js";

export const uid = process.getuid?.() ?? 0;

/**
 * A town on the default tmux socket: no tmux.socket setting, and TMUX_TMPDIR is the town root (town.env),
 * so the server's socket is <root>/tmux-<uid>/townd-<name>-<hash>.
 */
export async function defaultSocketTown(): Promise<TestTown> {
  const town = await makeTown();
  const file = town.file("settings", "config.json");
  const settings = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  delete settings["tmux"];
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  return town;
}

/** The sockets in the town's tmux socket directory (one per tmux server the town's daemons started). */
export function townSockets(town: TestTown): string[] {
  const dir = town.file(`tmux-${uid}`);
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
}

/** Kills every tmux server in the town's socket directory (by socket, never the default server). */
export function killTownServers(town: TestTown): void {
  for (const socket of townSockets(town))
    spawnSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore", env: testEnv() });
}
