import { errorMessage } from "../errors.js";
import type { Message } from "../store/mail.js";
import { MAX_BODY_BYTES, MAX_REASON_BYTES, byteLength } from "../util/text-limits.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";

export type LifecycleAction = "cycle" | "restart" | "shutdown";

export type ParsedLifecycle =
  | { readonly kind: "not-lifecycle" }
  | { readonly kind: "stale"; readonly ageMs: number }
  | { readonly kind: "rejected"; readonly why: string }
  | {
      readonly kind: "request";
      readonly identity: string;
      readonly action: LifecycleAction;
      readonly reason: string;
    };

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const ACTIONS: Readonly<Record<string, LifecycleAction>> = {
  cycle: "cycle",
  restart: "restart",
  shutdown: "shutdown",
  stop: "shutdown",
};

/** The plain-text bodies the reference accepts when the body is not JSON (§7.3, B64–B66). */
function plainAction(body: string): string | undefined {
  const text = body.trim().toLowerCase();
  const match = /^(?:action:\s*)?(cycle|restart|shutdown|stop)$/.exec(text);
  return match?.[1];
}

function bodyAction(body: string): { action?: string; reason?: string } | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== "object" || value === null) return undefined;
    const record = value as Record<string, unknown>;
    return {
      ...(typeof record["action"] === "string" ? { action: record["action"] } : {}),
      ...(typeof record["reason"] === "string" ? { reason: record["reason"] } : {}),
    };
  } catch {
    const action = plainAction(body);
    return action === undefined ? undefined : { action };
  }
}

/**
 * The reference's lifecycle protocol (§7.2–7.3): the `lifecycle:` subject gate (any case), a JSON body
 * `{"action": …}` or the plain-text fallbacks, the staleness limit, and the sender's identity in either
 * form (`gastown/witness` or `gastown-witness`, `mayor/` or `mayor`) — the reference's gap in §8.1 fixed.
 */
export function parseLifecycleMessage(message: Message, now: number, maxAgeMs: number): ParsedLifecycle {
  if (!message.subject.toLowerCase().startsWith("lifecycle:")) return { kind: "not-lifecycle" };
  // Only RFC 3339 counts as a timestamp: Date.parse would read "1" as 2001 and delete the request as stale.
  const sentAt = RFC3339.test(message.timestamp) ? Date.parse(message.timestamp) : Number.NaN;
  // An unparseable timestamp is treated as fresh (B71).
  if (!Number.isNaN(sentAt) && now - sentAt > maxAgeMs) return { kind: "stale", ageMs: now - sentAt };
  // Mail written straight into the store skips the CLI's checks: the bounds are enforced here too.
  const bodySize = byteLength(message.body);
  if (bodySize > MAX_BODY_BYTES)
    return { kind: "rejected", why: `body is ${bodySize} bytes, the limit is ${MAX_BODY_BYTES} bytes` };
  const body = bodyAction(message.body);
  if (body?.action === undefined) {
    return { kind: "rejected", why: `unparseable body ${JSON.stringify(message.body.slice(0, 200))}` };
  }
  // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
  const action = Object.hasOwn(ACTIONS, body.action.toLowerCase())
    ? ACTIONS[body.action.toLowerCase()]
    : undefined;
  if (action === undefined)
    return { kind: "rejected", why: `unknown lifecycle action ${JSON.stringify(body.action)}` };
  const reasonSize = byteLength(body.reason ?? "");
  if (reasonSize > MAX_REASON_BYTES)
    return { kind: "rejected", why: `reason is ${reasonSize} bytes, the limit is ${MAX_REASON_BYTES} bytes` };
  let identity: string;
  try {
    identity = formatIdentity(parseIdentity(message.from));
  } catch (error) {
    return { kind: "rejected", why: `unknown agent identity: ${errorMessage(error)}` };
  }
  return { kind: "request", identity, action, reason: body.reason ?? "" };
}
