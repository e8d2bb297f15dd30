import type { Server } from "node:http";
import { basename } from "node:path";
import { claudeSettingsPaths } from "../activity/hooks/settings-file.js";
import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import type { TownMetrics } from "../metrics/town-metrics.js";
import type { TownPaths } from "../town/paths.js";
import { townFileSchema } from "../town/schemas.js";
import { readJsonIfExists } from "../util/json-file.js";
import { baseUrl, isLoopbackHost, parseListenAddress } from "../util/listen-address.js";
import { TownFeed, type TownSource } from "./feed.js";
import { ensureToken, readToken } from "./token.js";

export interface DashboardOptions {
  readonly paths: TownPaths;
  readonly source: TownSource;
  /** The control API's operator request and wake-up: the dashboard's actions go through them. */
  submit(body: Record<string, unknown>): Promise<unknown>;
  wake(): void;
  readonly log: Logger;
}

/** The town's name (mayor/town.json), else its directory's. */
function townName(paths: TownPaths): string {
  try {
    return readJsonIfExists(paths.townJson, townFileSchema)?.name ?? basename(paths.root);
  } catch {
    return basename(paths.root);
  }
}

/**
 * The dashboard and /metrics listener, run by the daemon while `http.listen` is set. Each pass hands it the
 * setting: it starts, moves or stops the listener to match, so a config change needs no daemon restart.
 * The change feed and the metrics run only while it listens: with the setting off, it costs nothing.
 */
export class Dashboard {
  private readonly options: DashboardOptions;
  private server: Server | undefined;
  private listening: string | undefined;
  private feed: TownFeed | undefined;
  private metrics: TownMetrics | undefined;
  private unobserve: (() => void) | undefined;
  private lastProblem = "";

  constructor(options: DashboardOptions) {
    this.options = options;
  }

  /** Makes the listener match `listen` (undefined: off). Never throws: a failure is logged once, retried later. */
  async configure(listen: string | undefined): Promise<void> {
    if (listen === this.listening && (listen === undefined || this.server !== undefined)) return;
    await this.closeServer();
    if (listen === undefined) {
      this.stopFeed();
      this.listening = undefined;
      return;
    }
    const { paths, log } = this.options;
    try {
      const address = parseListenAddress(listen);
      ensureToken(paths.daemonDir);
      // Loaded only when the setting asks for it: a daemon without a dashboard does not pay for prom-client
      // (about 140 ms and 13 MB).
      const [{ startWebServer }, { TownMetrics }] = await Promise.all([
        import("./server.js"),
        import("../metrics/town-metrics.js"),
      ]);
      const feed = this.startFeed(TownMetrics);
      const metrics = this.metrics;
      this.server = await startWebServer(address, {
        source: this.options.source,
        feed,
        actions: {
          submit: (body) => this.options.submit(body),
          wake: () => {
            this.options.wake();
          },
          storeFile: paths.storeFile,
        },
        metrics: async () => ({
          text: metrics === undefined ? "" : await metrics.text(),
          contentType: metrics?.contentType ?? "text/plain",
        }),
        token: () => readToken(paths.daemonDir),
        town: townName(paths),
        onError: (message) => {
          log.error(message);
        },
      });
      this.listening = listen;
      this.lastProblem = "";
      log.info(`Dashboard on ${baseUrl(address)} ('townd dashboard --url' prints it with its token)`);
      if (!isLoopbackHost(address.host))
        log.warn(
          `Dashboard listens on ${listen}, beyond this machine: anyone who has the token can restart agents`,
        );
    } catch (error) {
      this.listening = undefined;
      const message = `Dashboard cannot listen on ${listen}: ${errorMessage(error)}; retrying at the next pass`;
      if (message !== this.lastProblem) log.error(message);
      this.lastProblem = message;
    }
  }

  observePass(seconds: number): void {
    this.metrics?.observePass(seconds);
  }

  async close(): Promise<void> {
    await this.closeServer();
    this.stopFeed();
  }

  private startFeed(Metrics: typeof TownMetrics): TownFeed {
    if (this.feed !== undefined) return this.feed;
    const { source, paths, log } = this.options;
    const feed = new TownFeed(source, {
      onProblem: (message) => {
        log.warn(message);
      },
    });
    const metrics = new Metrics({
      status: () => source.status(),
      statuslineDir: claudeSettingsPaths(paths.daemonDir).statuslineDir,
    });
    this.unobserve = feed.subscribe((update) => {
      metrics.observe(update);
    });
    feed.start();
    // The statuses as they are now are the baseline the counters grow from.
    metrics.observe({ events: [], status: source.status() });
    this.feed = feed;
    this.metrics = metrics;
    return feed;
  }

  private stopFeed(): void {
    this.unobserve?.();
    this.feed?.stop();
    this.feed = undefined;
    this.metrics = undefined;
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    // Open event streams must not keep the old listener (or the daemon) from closing.
    const closed = new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    server.closeAllConnections();
    await closed;
  }
}
