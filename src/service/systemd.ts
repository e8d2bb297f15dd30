import { homedir } from "node:os";
import { join } from "node:path";
import { DAEMON_NODE_FLAGS } from "../daemon/node-flags.js";
import { AppError } from "../errors.js";

/** systemd unit files quote values with double quotes; a path is passed through this. */
/** systemd expands % specifiers and $ variables in ExecStart: a path holding them must stay literal. */
function literal(value: string): string {
  return value.replaceAll("%", "%%").replaceAll("$", "$$$$");
}

function quote(value: string): string {
  return `"${literal(value).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

export function unitName(townRoot: string): string {
  const label =
    townRoot
      .split("/")
      .filter(Boolean)
      .at(-1)
      ?.replace(/[^A-Za-z0-9_-]/g, "_") ?? "town";
  return `townd-${label}.service`;
}

/**
 * A systemd user unit that runs `townd run` for one town and restarts it if it dies. The daemon's own flock
 * keeps a second copy from running; `KillMode=process` so stopping the unit never kills the agents' tmux
 * server (it is not the daemon's child, and agents outlive daemon restarts by design).
 */
export function systemdUnit(options: { townRoot: string; node: string; main: string; path: string }): string {
  refuseControlCharacters("town path", options.townRoot);
  refuseControlCharacters("node path", options.node);
  refuseControlCharacters("townd path", options.main);
  refuseControlCharacters("PATH", options.path);
  return `[Unit]
Description=townd: the town daemon for ${literal(options.townRoot)}
After=default.target

[Service]
Type=simple
ExecStart=${quote(options.node)} ${DAEMON_NODE_FLAGS.join(" ")} ${quote(options.main)} --town ${quote(options.townRoot)} run
Environment=${quote(`PATH=${options.path}`)}
Restart=on-failure
RestartSec=5s
KillMode=process
TimeoutStopSec=20s

[Install]
WantedBy=default.target
`;
}

/**
 * A unit file is line-based and systemd has no escape for a newline inside a value: a town path holding one
 * would end the line and start a directive of the path's choosing (ExecStartPre=…). Other control
 * characters are refused with it; no real path needs them.
 */
function refuseControlCharacters(what: string, value: string): void {
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new AppError(
      "E_SERVICE",
      `Cannot write a systemd unit: the ${what} ${JSON.stringify(value)} contains a newline or another control character`,
    );
  }
}

export function userUnitDir(env: NodeJS.ProcessEnv): string {
  const config = env["XDG_CONFIG_HOME"] ?? join(homedir(), ".config");
  return join(config, "systemd", "user");
}
