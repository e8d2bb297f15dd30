import type { Logger } from "../daemon/logger.js";
import { errorMessage } from "../errors.js";
import type { WebhookSettings } from "../town/notify-webhook.js";
import { sleep } from "../util/sleep.js";
import type { Notification } from "./notify.js";
import { retryable, webhookRequest, type WebhookRequest } from "./webhook-shapes.js";

/** Deliveries under way at once; beyond it an alert is logged and dropped rather than queued without end. */
const MAX_IN_FLIGHT = 64;
/** The longest wait between two attempts, however many retries the settings ask for. */
const MAX_BACKOFF_MS = 60_000;

/**
 * operational.daemon.notify_webhook: every alert POSTed beside notify_command. Fire and forget: `send`
 * returns at once and a pass never waits for a webhook. A failed attempt (network error, timeout, 408, 425,
 * 429, 5xx) is retried `retries` times with a doubling wait; another 4xx is not retried. Each attempt has
 * its own timeout, and `stop` aborts whatever is in flight, waits included, so none outlives the daemon.
 */
export class WebhookNotifier {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  private readonly post: typeof fetch;

  constructor(options: { fetch?: typeof fetch } = {}) {
    this.post = options.fetch ?? fetch;
  }

  /** Sends `event` if the settings want its kind. Never throws, never waits. */
  send(settings: WebhookSettings, event: Notification, log: Logger): void {
    if (this.controller.signal.aborted) return;
    if (settings.kinds !== null && !settings.kinds.has(event.type)) return;
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      log.warn(`notify_webhook: ${MAX_IN_FLIGHT} deliveries under way; the ${event.type} alert is not sent`);
      return;
    }
    let request: WebhookRequest;
    try {
      request = webhookRequest(settings, event);
    } catch (error) {
      log.error(`notify_webhook: cannot build the ${event.type} alert: ${errorMessage(error)}`);
      return;
    }
    const delivery: Promise<void> = this.deliver(settings, request, event.type, log)
      .catch((error: unknown) => {
        log.error(`notify_webhook: ${event.type}: ${errorMessage(error)}`);
      })
      .finally(() => {
        this.inFlight.delete(delivery);
      });
    this.inFlight.add(delivery);
  }

  /** Deliveries still under way (for tests and the daemon's stop line). */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Aborts every delivery (attempts and waits) and resolves once they have all ended; returns how many. */
  async stop(): Promise<number> {
    const count = this.inFlight.size;
    this.controller.abort(new Error("the daemon is stopping"));
    await Promise.allSettled([...this.inFlight]);
    return count;
  }

  private async deliver(
    settings: WebhookSettings,
    request: WebhookRequest,
    kind: string,
    log: Logger,
  ): Promise<void> {
    const stopping = this.controller.signal;
    const attempts = settings.retries + 1;
    let failure = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        const wait = Math.min(MAX_BACKOFF_MS, settings.retryBackoffMs * 2 ** (attempt - 2));
        try {
          await sleep(wait, stopping);
        } catch {
          return;
        }
      }
      try {
        const response = await this.post(request.url, {
          method: "POST",
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.any([stopping, AbortSignal.timeout(settings.timeoutMs)]),
        });
        // The body is not wanted; cancelling it frees the connection.
        await response.body?.cancel().catch(() => undefined);
        if (response.ok) {
          if (attempt > 1) log.info(`notify_webhook: ${kind} delivered at attempt ${attempt} of ${attempts}`);
          return;
        }
        failure = `HTTP ${response.status}`;
        if (!retryable(response.status)) {
          log.error(
            `notify_webhook: ${kind} refused with ${failure}; not retried (check the URL and headers)`,
          );
          return;
        }
      } catch (error) {
        if (stopping.aborted) return;
        failure = describeFailure(error, settings.timeoutMs);
      }
      log.warn(`notify_webhook: ${kind}, attempt ${attempt} of ${attempts} failed: ${failure}`);
    }
    log.error(`notify_webhook: ${kind} not delivered after ${attempts} attempt(s): ${failure}`);
  }
}

/** A failed fetch in one line: undici's "fetch failed" says nothing without its cause (ECONNREFUSED, …). */
function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError")
    return `no answer within ${timeoutMs} ms`;
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const detail =
    typeof cause?.code === "string" ? cause.code : typeof cause?.message === "string" ? cause.message : "";
  return detail === "" ? errorMessage(error) : `${errorMessage(error)} (${detail})`;
}
