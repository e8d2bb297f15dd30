import { tokenMatches } from "./token.js";

/**
 * Who may use the dashboard: a request carries the token as `?token=` (the URL `townd dashboard --url`
 * prints, used once: the page then sets a cookie and drops it from the address bar), as that cookie, or
 * as `Authorization: Bearer <token>` (scripts, Prometheus).
 */

export interface Credentials {
  readonly query: string | null;
  readonly cookieHeader: string | undefined;
  readonly authorization: string | undefined;
}

export type AuthResult =
  | { readonly ok: true; readonly via: "query" | "cookie" | "bearer" }
  | { readonly ok: false; readonly why: "missing" | "wrong" };

/**
 * The cookie's name carries the port: cookies are shared by every port of a host, and two towns' dashboards
 * on 127.0.0.1 must not overwrite each other's.
 */
export function cookieName(port: number): string {
  return `townd_dashboard_${port}`;
}

/** One cookie's value from a Cookie header (undefined when absent). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function bearer(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function authenticate(
  credentials: Credentials,
  token: string | undefined,
  cookie: string,
): AuthResult {
  const offered = [
    ["query", credentials.query ?? undefined],
    ["cookie", cookieValue(credentials.cookieHeader, cookie)],
    ["bearer", bearer(credentials.authorization)],
  ] as const;
  let presented = false;
  for (const [via, value] of offered) {
    if (value === undefined || value === "") continue;
    presented = true;
    if (tokenMatches(value, token)) return { ok: true, via };
  }
  return { ok: false, why: presented ? "wrong" : "missing" };
}

/** The Set-Cookie header that keeps a browser signed in (30 days, this host and port, no script access). */
export function sessionCookie(name: string, token: string): string {
  return `${name}=${token}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Strict`;
}
