import { spawnSync } from "node:child_process";

/** What `systemctl --user` said: its first line of output, or why there was none. */
export interface SystemctlAnswer {
  readonly ok: boolean;
  /** The first line of stdout ("enabled", "inactive", …); null when it printed nothing. */
  readonly value: string | null;
  /** Why systemd could not answer (no user bus, no systemctl), one line; null when it did. */
  readonly problem: string | null;
}

const TIMEOUT_MS = 10_000;

/**
 * Runs `systemctl --user ARGS` (found on PATH), bounded by a timeout. `is-enabled` and `is-active` exit
 * non-zero for "disabled" and "inactive", so a printed state counts as an answer whatever the exit status.
 */
export function systemctl(args: readonly string[], env: NodeJS.ProcessEnv): SystemctlAnswer {
  const result = spawnSync("systemctl", ["--user", ...args], {
    env,
    encoding: "utf8",
    timeout: TIMEOUT_MS,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const problem =
      code === "ENOENT"
        ? "systemctl is not installed"
        : code === "ETIMEDOUT"
          ? `systemctl did not answer within ${TIMEOUT_MS / 1000} s`
          : result.error.message;
    return { ok: false, value: null, problem };
  }
  const first = (text: string): string | null => text.split("\n").find((line) => line.trim() !== "") ?? null;
  const value = first(result.stdout)?.trim() ?? null;
  const ok = result.status === 0;
  const problem =
    ok || value !== null ? null : (first(result.stderr) ?? `exit status ${result.status ?? "?"}`);
  return { ok, value, problem };
}
