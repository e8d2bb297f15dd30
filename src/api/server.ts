import { chmodSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { errorMessage, isAppError } from "../errors.js";

/** What the daemon offers on its control socket. */
export interface ApiHandlers {
  status(): unknown;
  /** An operator request (reset, restart, start, stop; town down, up): resolves with its pass's decisions. */
  submit(body: Record<string, unknown>): Promise<unknown>;
  events(query: URLSearchParams): unknown[];
  /** Events after `afterId`, for streaming. */
  eventsAfter(query: URLSearchParams, afterId: number): { id: number }[];
  reload(): void;
  /** Runs a pass now (a lifecycle request was mailed): the CLI's wake-up that needs no PID. */
  wake(): void;
}

const MAX_BODY = 64 * 1024;

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY) throw new RangeError(`Request body over ${MAX_BODY} bytes`);
    chunks.push(buffer);
  }
  if (chunks.length === 0) return {};
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new TypeError("Body must be a JSON object");
  return value as Record<string, unknown>;
}

/**
 * The control API: HTTP with JSON on a Unix socket in daemon/ that only the owner can open.
 *   GET  /v1/status                 the `townd status --json` document
 *   GET  /v1/agents                 its `agents` part
 *   GET  /v1/events?agent=&since=&limit=&follow=1   past events; with follow, NDJSON as they happen
 *   POST /v1/agents/{reset,restart,start,stop}  {"agent": "<identity>"}
 *   POST /v1/town/{down,up}         stop every agent and keep them down / lift that and start them
 *   POST /v1/reload                 re-read the config now
 *   POST /v1/wake                   run a pass now (lifecycle requests waiting)
 */
export function startApiServer(
  socket: string,
  handlers: ApiHandlers,
  onError: (message: string) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    void handle(req, res, handlers).catch((error: unknown) => {
      const status =
        isAppError(error) ||
        error instanceof SyntaxError ||
        error instanceof TypeError ||
        error instanceof RangeError
          ? 400
          : 500;
      if (status === 500) onError(`Control API: ${errorMessage(error)}`);
      if (!res.headersSent) send(res, status, { error: errorMessage(error) });
      else res.end();
    });
  });
  // The daemon holds the town's lock, so a socket file left here is a dead daemon's.
  rmSync(socket, { force: true });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => {
      chmodSync(socket, 0o600);
      server.off("error", reject);
      server.on("error", (error) => {
        onError(`Control API: ${error.message}`);
      });
      resolve(server);
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, handlers: ApiHandlers): Promise<void> {
  const url = new URL(req.url ?? "/", "http://townd");
  const route = `${req.method ?? "GET"} ${url.pathname}`;
  switch (route) {
    case "GET /v1/status":
      send(res, 200, handlers.status());
      return;
    case "GET /v1/agents":
      send(res, 200, (handlers.status() as { agents: unknown }).agents);
      return;
    case "GET /v1/events":
      if (url.searchParams.get("follow") === "1") {
        await followEvents(req, res, handlers, url.searchParams);
        return;
      }
      send(res, 200, handlers.events(url.searchParams));
      return;
    case "POST /v1/agents/reset":
    case "POST /v1/agents/restart":
    case "POST /v1/agents/start":
    case "POST /v1/agents/stop": {
      const body = await readBody(req);
      send(res, 200, await handlers.submit({ ...body, kind: url.pathname.slice("/v1/agents/".length) }));
      return;
    }
    case "POST /v1/town/down":
    case "POST /v1/town/up":
      await readBody(req);
      send(res, 200, await handlers.submit({ kind: url.pathname.slice("/v1/town/".length) }));
      return;
    case "POST /v1/reload":
      handlers.reload();
      // The server runs in the daemon: its PID is the daemon's, verified by construction.
      send(res, 202, { reloading: true, pid: process.pid });
      return;
    case "POST /v1/wake":
      handlers.wake();
      send(res, 202, { waking: true, pid: process.pid });
      return;
    default:
      send(res, 404, { error: `No route ${route}` });
  }
}

async function followEvents(
  req: IncomingMessage,
  res: ServerResponse,
  handlers: ApiHandlers,
  query: URLSearchParams,
): Promise<void> {
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  let lastId = 0;
  for (const event of handlers.events(query) as { id: number }[]) {
    res.write(`${JSON.stringify(event)}\n`);
    lastId = event.id;
  }
  const connection = { open: true };
  req.on("close", () => {
    connection.open = false;
  });
  while (connection.open && !res.destroyed) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    for (const event of handlers.eventsAfter(query, lastId)) {
      res.write(`${JSON.stringify(event)}\n`);
      lastId = event.id;
    }
  }
  res.end();
}
