import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { request } from "node:http";
import { delimiter, join } from "node:path";
import type { Command } from "commander";
import { ensureDaemonDir } from "../../daemon/daemon-dir.js";
import { probeDaemon } from "../../daemon/instance.js";
import { AppError } from "../../errors.js";
import { loadTownConfigStrict } from "../../town/config.js";
import type { TownPaths } from "../../town/paths.js";
import { baseUrl, parseListenAddress } from "../../util/listen-address.js";
import { writeFileAtomicPrivateSync } from "../../util/private-file.js";
import { ensureToken, tokenFile, writeToken } from "../../web/token.js";
import { printJson, resolveTown, type CliContext } from "../context.js";

interface DashboardOptions {
  url?: boolean;
  json?: boolean;
  open?: boolean;
  newToken?: boolean;
}

/** Whether the dashboard answers with this token now (the daemon runs and listens), within a second. */
function serving(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      new URL("api/state", url),
      { headers: { authorization: `Bearer ${token}` }, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(false);
    });
    req.end();
  });
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * Opens the dashboard in the desktop's browser. The token must not appear on a command line (any local
 * user can read another's), so the browser is given an owner-only file in daemon/ that forwards to the URL.
 */
function openInBrowser(paths: TownPaths, loginUrl: string, ctx: CliContext): boolean {
  const graphical = (ctx.env["DISPLAY"] ?? "") !== "" || (ctx.env["WAYLAND_DISPLAY"] ?? "") !== "";
  const opener = onPath("xdg-open", ctx.env);
  if (!graphical || !process.stdout.isTTY || opener === undefined) return false;
  const launcher = join(paths.daemonDir, "dashboard-open.html");
  const target = loginUrl.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  writeFileAtomicPrivateSync(
    launcher,
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${target}">\n`,
  );
  const child = spawn(opener, [launcher], { detached: true, stdio: "ignore", env: ctx.env });
  child.on("error", () => undefined);
  child.unref();
  return true;
}

export function registerDashboard(program: Command, ctx: CliContext): void {
  program
    .command("dashboard")
    .description("print the dashboard's address (setting http.listen) and open it in a desktop browser")
    .option("--url", "print only the URL that carries the access token (opening it signs a browser in)")
    .option("--json", "url, login_url, listen, token_file, daemon_running, serving as JSON")
    .option("--no-open", "do not open a browser")
    .option("--new-token", "replace the access token: every browser signed in must sign in again")
    .action(async (opts: DashboardOptions) => {
      const paths = resolveTown(ctx);
      const listen = loadTownConfigStrict(paths).settings.http?.listen;
      if (listen === undefined)
        throw new AppError(
          "E_DASHBOARD_OFF",
          `The dashboard is off: set "http": {"listen": "127.0.0.1:7420"} in ${paths.settingsJson}`,
        );
      const url = baseUrl(parseListenAddress(listen));
      ensureDaemonDir(paths);
      const token = opts.newToken === true ? writeToken(paths.daemonDir) : ensureToken(paths.daemonDir);
      const loginUrl = `${url}?token=${token}`;
      if (opts.url === true) {
        ctx.out(loginUrl);
        return;
      }
      const running = probeDaemon(paths).running;
      const answering = running && (await serving(url, token));
      if (opts.json === true) {
        printJson(ctx, {
          url,
          login_url: loginUrl,
          listen,
          token_file: tokenFile(paths.daemonDir),
          daemon_running: running,
          serving: answering,
        });
        return;
      }
      ctx.out(`Dashboard: ${url}${opts.newToken === true ? " (new token: sign in again)" : ""}`);
      if (!running) ctx.out("● The daemon is not running: it serves the dashboard once 'townd start' runs");
      else if (!answering)
        ctx.out(`● The daemon does not answer on ${listen} yet: see 'townd logs' (it retries each pass)`);
      if (opts.open !== false && answering && openInBrowser(paths, loginUrl, ctx))
        ctx.out("✓ Opened it in your browser");
      else ctx.out("Sign a browser in with the URL 'townd dashboard --url' prints (it carries the token)");
    });
}
