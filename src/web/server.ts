import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { errorMessage, isAppError } from "../errors.js";
import { deadPaneLines } from "../store/pane-lines.js";
import { formatIdentity, parseIdentity } from "../town/identity.js";
import type { ListenAddress } from "../util/listen-address.js";
import { ACTIONS, isAction, runAction, type ActionDeps } from "./actions.js";
import { authenticate, cookieName, sessionCookie } from "./auth.js";
import type { StatusDocument, TownFeed, TownSource } from "./feed.js";
import { needsYou } from "./needs-you.js";
import { openStream, type PageState } from "./stream.js";

/** What the dashboard's listener serves from. */
export interface WebDeps {
  readonly source: TownSource;
  readonly feed: TownFeed;
  readonly actions: Omit<ActionDeps, "agents">;
  /** The Prometheus text and its content type. */
  metrics(): Promise<{ text: string; contentType: string }>;
  /** The token as it is now (read per request: a rotated token takes effect at once). */
  token(): string | undefined;
  /** The town's name, for the page's title. */
  readonly town: string;
  readonly onError: (message: string) => void;
}

const STATIC = new URL("./static/", import.meta.url);
const FILES: Readonly<Record<string, string>> = {
  "/": "index.html",
  "/app.js": "app.js",
  "/app.css": "app.css",
};
const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** Nothing but the page's own files runs or loads; agents' text is only ever set as text, never as HTML. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const MAX_BODY = 16 * 1024;
const MAX_CONNECTIONS = 64;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value));
}

const REFUSED_PAGE = (why: string): string =>
  `<!doctype html><meta charset="utf-8"><title>townd dashboard</title>
<p>townd dashboard: ${why === "wrong" ? "wrong" : "missing"} token.</p>
<p>Run <code>townd dashboard --url</code> in the town and open the URL it prints.</p>\n`;

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new RangeError(`Request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
}

/** The page's state: the status document with the needs-you list, the actions, the town and the time. */
export function pageState(status: StatusDocument, town: string, now: number): PageState {
  const needs = needsYou(status.agents, now);
  return {
    body: {
      ...status,
      town,
      needs_you: needs.needs,
      actions: Object.keys(ACTIONS),
    },
    nextChangeAt: needs.nextChangeAt,
  };
}

/**
 * The dashboard and /metrics over HTTP. Every request needs the token (see auth.ts); a page opened with
 * `?token=` gets the cookie and is sent on without the token in its address.
 */
export function startWebServer(address: ListenAddress, deps: WebDeps): Promise<Server> {
  const files = new Map(
    Object.entries(FILES).map(([path, name]) => [
      path,
      { body: readFileSync(new URL(name, STATIC)), type: TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "" },
    ]),
  );
  const cookie = cookieName(address.port);
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      const known =
        isAppError(error) ||
        error instanceof SyntaxError ||
        error instanceof TypeError ||
        error instanceof RangeError;
      if (!known) deps.onError(`Dashboard: ${errorMessage(error)}`);
      if (!res.headersSent) sendJson(res, known ? 400 : 500, { error: errorMessage(error) });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://townd");
    const auth = authenticate(
      {
        query: url.searchParams.get("token"),
        cookieHeader: req.headers.cookie,
        authorization: req.headers.authorization,
      },
      deps.token(),
      cookie,
    );
    const method = req.method ?? "GET";
    if (!auth.ok) {
      const headers = { "www-authenticate": 'Bearer realm="townd"' };
      if (method === "GET" && url.pathname === "/")
        send(res, 401, TYPES["html"] ?? "", REFUSED_PAGE(auth.why), headers);
      else send(res, 401, "text/plain; charset=utf-8", `${auth.why} token\n`, headers);
      return;
    }
    // The token leaves the address bar (and the history) at once: from here on the cookie carries it.
    if (auth.via === "query" && method === "GET" && url.pathname === "/") {
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        location: "/",
        "set-cookie": sessionCookie(cookie, deps.token() ?? ""),
        "content-length": 0,
      });
      res.end();
      return;
    }
    const file = method === "GET" ? files.get(url.pathname) : undefined;
    if (file !== undefined) {
      send(res, 200, file.type, file.body);
      return;
    }
    const route = `${method} ${url.pathname}`;
    if (route === "GET /metrics") {
      const { text, contentType } = await deps.metrics();
      send(res, 200, contentType, text);
    } else if (route === "GET /api/state") {
      const now = Date.now();
      sendJson(res, 200, {
        ...pageState(deps.source.status(), deps.town, now).body,
        now: new Date(now).toISOString(),
      });
    } else if (route === "GET /api/stream") {
      openStream(req, res, {
        feed: deps.feed,
        source: deps.source,
        state: (status) => pageState(status, deps.town, Date.now()),
      });
    } else if (route === "GET /api/why") {
      sendJson(res, 200, why(url.searchParams.get("agent")));
    } else if (method === "POST" && url.pathname.startsWith("/api/agents/")) {
      const action = url.pathname.slice("/api/agents/".length);
      if (!isAction(action)) {
        sendJson(res, 404, {
          error: `No action ${JSON.stringify(action)} (actions: ${Object.keys(ACTIONS).join(", ")})`,
        });
        return;
      }
      // A cross-site form cannot send JSON without a preflight, which this server never allows.
      if (!String(req.headers["content-type"]).startsWith("application/json")) {
        sendJson(res, 415, { error: "Send the body as application/json" });
        return;
      }
      const answer = await runAction(action, await readJsonBody(req), {
        ...deps.actions,
        agents: () => deps.source.status().agents.map((agent) => agent.identity),
      });
      sendJson(res, 200, answer);
    } else {
      sendJson(res, 404, { error: `No route ${route}` });
    }
  }

  /** `townd why` for the page: the agent's status, its recent events and its dead pane's last lines. */
  function why(agent: string | null): unknown {
    if (agent === null) throw new TypeError("Name the agent: /api/why?agent=<identity>");
    const identity = formatIdentity(parseIdentity(agent));
    const status = deps.source.status().agents.find((a) => a.identity === identity) ?? null;
    // The pane's lines may be further back than the events shown.
    const events = deps.source.events(new URLSearchParams({ agent: identity, limit: "200" }));
    return { identity, status, events: events.slice(-20), pane: deadPaneLines(events) ?? null };
  }

  // A page holds one event stream; this bounds what a flood of connections can take from the daemon.
  server.maxConnections = MAX_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      server.on("error", (error) => {
        deps.onError(`Dashboard: ${error.message}`);
      });
      resolve(server);
    });
  });
}
