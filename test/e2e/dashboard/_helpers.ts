import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  createSupervisedTown,
  type Json,
  type SupervisedTown,
  type SupervisedTownOptions,
} from "../../helpers/supervised-town.js";
import { until } from "../../helpers/wait.js";

/**
 * Shared by the dashboard and /metrics e2e tests: a town whose daemon serves the dashboard on a free
 * loopback port, plain HTTP requests to it, and typing at an agent's prompt.
 */

/** A TCP port free on 127.0.0.1 right now (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port"));
        else resolve(address.port);
      });
    });
  });
}

export interface DashboardTown {
  readonly town: SupervisedTown;
  /** http://127.0.0.1:PORT/ */
  readonly base: string;
  token(): string;
  /** What `townd dashboard --url` prints. */
  loginUrl(): Promise<string>;
}

/**
 * A started town serving its dashboard (`http.listen` on a free port), with a 1 s first backoff so a killed
 * agent is back within seconds.
 */
export async function startDashboardTown(
  options: SupervisedTownOptions & { beforeStart?: (town: SupervisedTown) => void } = {},
): Promise<DashboardTown> {
  const port = await freePort();
  const town = await createSupervisedTown({
    ...options,
    settings: (settings, helpers) => {
      settings["http"] = { listen: `127.0.0.1:${port}` };
      settings["operational"] = { daemon: { restart: { initial_backoff: "1s" } } };
      options.settings?.(settings, helpers);
    },
  });
  options.beforeStart?.(town);
  await town.start();
  const base = `http://127.0.0.1:${port}/`;
  return {
    town,
    base,
    token: () => readFileSync(join(town.root, "daemon", "dashboard.token"), "utf8").trim(),
    loginUrl: async () => {
      const run = await town.townd(["dashboard", "--url"]);
      assert.equal(run.code, 0, run.stderr);
      return run.stdout.trim();
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function httpGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} got no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Types a line at an agent's prompt once its start-up sequence has typed its own nudge. */
export async function typeAt(town: SupervisedTown, session: string, line: string): Promise<void> {
  await until(
    `${session}'s start-up nudge`,
    async () =>
      (await town.tmux(["capture-pane", "-p", "-t", `=${session}:`])).stdout.includes(
        "received: Run `gt prime`",
      ),
    20_000,
  );
  const typed = await town.tmux(["send-keys", "-t", `=${session}:`, "-l", "--", line]);
  assert.equal(typed.code, 0, typed.stderr);
  const entered = await town.tmux(["send-keys", "-t", `=${session}:`, "Enter"]);
  assert.equal(entered.code, 0, entered.stderr);
}

/** The agent's live pane PID from the daemon's status. */
export async function agentPid(town: SupervisedTown, identity: string): Promise<number> {
  const pid = town.agent(await town.status(), identity).pid;
  assert.ok(typeof pid === "number", `${identity} has a pid`);
  return pid;
}

export type { Json };
