import { isIP } from "node:net";

/** Where an HTTP listener binds: a host (an IP address or a name) and a TCP port. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** What `http.listen` accepts, for error messages. */
export const LISTEN_FORMAT = 'HOST:PORT, e.g. "127.0.0.1:7420", "[::1]:7420" or ":7420" (loopback)';

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `HOST:PORT` (`[v6]:PORT` for IPv6). A missing host (":7420" or "7420") is the loopback address:
 * the dashboard is reachable from other machines only when a setting names a wider address.
 * Throws a RangeError saying what is wrong.
 */
export function parseListenAddress(text: string): ListenAddress {
  const value = text.trim();
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(value);
  if (bracketed !== null) {
    host = bracketed[1] ?? "";
    portText = bracketed[2] ?? "";
    if (isIP(host) !== 6) throw new RangeError(`"${host}" in brackets is not an IPv6 address`);
  } else if (/^\d+$/.test(value)) {
    host = "";
    portText = value;
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) throw new RangeError(`no port in ${JSON.stringify(text)}`);
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(":")) throw new RangeError("an IPv6 address must be in brackets, e.g. [::1]:7420");
    if (host !== "" && isIP(host) === 0 && !HOST_NAME.test(host))
      throw new RangeError(`"${host}" is not an IP address or a host name`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw new RangeError(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65_535) throw new RangeError(`port ${port} is outside 1–65535`);
  return { host: host === "" ? "127.0.0.1" : host, port };
}

/** Whether only this machine can reach an address bound on `host`. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

/**
 * The base URL a browser on this machine uses for a listener: an address bound on every interface is
 * reached through loopback; an IPv6 address goes in brackets.
 */
export function baseUrl(address: ListenAddress): string {
  const host = address.host === "0.0.0.0" ? "127.0.0.1" : address.host === "::" ? "::1" : address.host;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}/`;
}
