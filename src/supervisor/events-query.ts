import { AppError } from "../errors.js";
import type { EventFilter } from "../store/events.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";
import { parseDuration } from "../util/duration.js";

/** The control API's `/v1/events` query (`agent`, `since`, `limit`) as a store filter; bad input is a bad request. */
export function eventsFilter(query: URLSearchParams, afterId: number | undefined, now: number): EventFilter {
  const agent = query.get("agent");
  const since = sinceParam(query.get("since"), now);
  const limit = Number(query.get("limit") ?? "1000");
  return {
    ...(agent === null ? {} : { identity: formatIdentity(parseIdentity(agent)) }),
    ...(since === null ? {} : { since }),
    ...(afterId === undefined ? { limit: Number.isInteger(limit) && limit > 0 ? limit : 1000 } : { afterId }),
  };
}

/** `since` is an ISO time or a duration back from now ("1h"); anything else is a bad request. */
function sinceParam(value: string | null, now: number): string | null {
  if (value === null) return null;
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)))
    return new Date(value).toISOString();
  try {
    return new Date(now - parseDuration(value)).toISOString();
  } catch {
    throw new AppError(
      "E_BAD_REQUEST",
      `Invalid since ${JSON.stringify(value)}: an ISO time or a duration like "1h"`,
    );
  }
}
