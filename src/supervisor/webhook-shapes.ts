import { basename } from "node:path";
import { ntfyTopic, type WebhookSettings } from "../town/notify-webhook.js";
import type { Notification } from "./notify.js";

/** One webhook POST: where, with which headers, and its JSON body. */
export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Slack and ntfy cut long messages; alerts are short, but a quoted pane line or reason could be long. */
const MAX_TEXT = 3500;

function cut(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}

/** Kinds that say an episode ended (a wall lifting): good news, sent at ntfy's default priority. */
function endsEpisode(kind: string): boolean {
  return /_(lifted|cleared|ended|resolved)$/.test(kind);
}

/**
 * Slack's mrkdwn reads `<!channel>`, `<@U123>` and `<url|text>` as mentions and links: text agents wrote
 * (a dialog's line, a request's reason) must not page a channel, so `&`, `<` and `>` are escaped as Slack
 * asks.
 */
export function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The POST for one alert, in the shape the settings name. Pure. */
export function webhookRequest(settings: WebhookSettings, event: Notification): WebhookRequest {
  const headers = { "content-type": "application/json", "user-agent": "townd", ...settings.headers };
  const town = basename(event.town);
  switch (settings.format) {
    case "json":
      return { url: settings.url, headers, body: JSON.stringify(event) };
    case "slack":
      return {
        url: settings.url,
        headers,
        body: JSON.stringify({
          text: cut(`[townd ${slackEscape(town)}] ${event.type}: ${slackEscape(event.message)}`),
        }),
      };
    case "ntfy": {
      // JSON publishing goes to the server's root and names the topic in the body.
      const url = new URL(settings.url);
      const topic = ntfyTopic(settings.url) ?? "";
      url.pathname = "/";
      const good = endsEpisode(event.type);
      return {
        url: url.toString(),
        headers,
        body: JSON.stringify({
          topic,
          title: `townd ${town}: ${event.type}`,
          message: cut(event.message),
          priority: good ? 3 : 4,
          tags: [good ? "white_check_mark" : "warning"],
        }),
      };
    }
  }
}

/** Whether a failed attempt is worth another: the server or the network may recover; a 4xx will not. */
export function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
