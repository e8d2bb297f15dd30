import { request } from "node:http";
import { AppError, isAppError } from "../errors.js";

/** The daemon did not answer on its socket (not running, or a stale socket): callers fall back to files. */
export class ApiUnavailableError extends Error {
  override readonly name = "ApiUnavailableError";
}

/** One JSON request to the daemon's control socket. */
export function callApi(
  socket: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        timeout: timeoutMs,
        headers:
          payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            reject(new AppError("E_API", `The daemon answered ${path} with something that is not JSON`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const message = (value as { error?: unknown }).error;
            reject(
              new AppError(
                "E_API",
                typeof message === "string" ? message : `The daemon answered ${res.statusCode ?? "?"}`,
              ),
            );
            return;
          }
          resolve(value);
        });
      },
    );
    req.on("timeout", () => {
      req.destroy(new AppError("E_API_TIMEOUT", `The daemon did not answer ${path} within ${timeoutMs} ms`));
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED")
        reject(new ApiUnavailableError(error.message));
      else if (error.code === "EACCES" || error.code === "EPERM")
        // The socket is owner-only: another user is not let in, by design.
        reject(
          new AppError(
            "E_API_DENIED",
            `No permission to use the daemon's control socket ${socket} (it is owner-only)`,
          ),
        );
      else if (isAppError(error)) reject(error);
      // The daemon went away mid-request (killed, restarted): the request may or may not have reached it.
      else
        reject(
          new AppError(
            "E_API_CONNECTION",
            `Lost the connection to the daemon on ${socket}: ${error.message}`,
          ),
        );
    });
    req.end(payload);
  });
}
