import { z } from "zod";
import { parseDuration } from "../util/duration.js";
import { durationString } from "./schema-helpers.js";

/** The shapes a webhook body takes: townd's own JSON, a Slack incoming webhook's `{text}`, ntfy's JSON. */
export type WebhookFormat = "json" | "slack" | "ntfy";

/** `operational.daemon.notify_webhook` with its defaults applied. */
export interface WebhookSettings {
  readonly url: string;
  readonly format: WebhookFormat;
  /** Alert kinds sent (crash_loop, mass_death, …); null: every kind, including ones added later. */
  readonly kinds: ReadonlySet<string> | null;
  readonly headers: Readonly<Record<string, string>>;
  /** One attempt's limit. */
  readonly timeoutMs: number;
  /** Attempts after the first, for a network error, a timeout, 408, 425, 429 or 5xx. */
  readonly retries: number;
  /** The wait before the first retry; each next one doubles it. */
  readonly retryBackoffMs: number;
}

function httpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** ntfy publishes JSON to the server's root naming the topic; the topic is the URL's last path segment. */
export function ntfyTopic(url: string): string | null {
  try {
    const segments = new URL(url).pathname.split("/").filter((s) => s !== "");
    return segments.length === 1 ? decodeURIComponent(segments[0] ?? "") : null;
  } catch {
    return null;
  }
}

/** An HTTP header name (RFC 9110 token); values are one line (a newline would end the header). */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const webhookObject = z
  .looseObject({
    url: z.string().refine(httpUrl, "must be an http:// or https:// URL"),
    format: z.enum(["json", "slack", "ntfy"]).optional(),
    kinds: z.array(z.string().min(1)).min(1).optional(),
    headers: z
      .record(
        z.string().regex(headerName, "must be an HTTP header name"),
        z.string().refine((v) => !/[\r\n\0]/.test(v), "must be one line"),
      )
      .optional(),
    timeout: durationString.optional(),
    retries: z.number().int().min(0).max(10).optional(),
    retry_backoff: durationString.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.format === "ntfy" && ntfyTopic(value.url) === null)
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message: "ntfy needs the topic as the URL's path, e.g. https://ntfy.sh/my-topic",
      });
  });

/** A URL alone (townd's JSON, every kind, the defaults) or an object. */
export const notifyWebhookSchema = z.preprocess(
  (value) => (typeof value === "string" ? { url: value } : value),
  webhookObject,
);
export type NotifyWebhookFile = z.output<typeof notifyWebhookSchema>;

export const WEBHOOK_DEFAULTS = { timeoutMs: 10_000, retries: 3, retryBackoffMs: 2_000 } as const;

export function webhookSettings(file: NotifyWebhookFile | undefined): WebhookSettings | null {
  if (file === undefined) return null;
  return {
    url: file.url,
    format: file.format ?? "json",
    kinds: file.kinds === undefined ? null : new Set(file.kinds),
    headers: file.headers ?? {},
    timeoutMs: file.timeout === undefined ? WEBHOOK_DEFAULTS.timeoutMs : parseDuration(file.timeout),
    retries: file.retries ?? WEBHOOK_DEFAULTS.retries,
    retryBackoffMs:
      file.retry_backoff === undefined ? WEBHOOK_DEFAULTS.retryBackoffMs : parseDuration(file.retry_backoff),
  };
}
