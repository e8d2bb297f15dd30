import { AppError } from "../errors.js";
import { RIG_NAME } from "./names.js";

/**
 * Agent identities: the one parser for every spelling the reference meets (reference §8), and the mappings
 * from an identity to its canonical text, tmux session and agent bead.
 *
 * The reference's parser only knew hyphen forms (`gastown-witness`), while agents sign their mail with
 * path forms (`gastown/witness`, `mayor/`), so every lifecycle request an agent sent was dropped (§8.1 gap).
 * Here both spellings parse to the same identity, and every component is validated, because identities
 * end up in tmux targets, directory paths and shell commands.
 */

export type Role = "mayor" | "deacon" | "boot" | "witness" | "refinery" | "polecat" | "crew";

export const ROLES: readonly Role[] = ["mayor", "deacon", "boot", "witness", "refinery", "polecat", "crew"];

/** `rig` is set for witness, refinery, polecat and crew; `name` for polecat and crew only. */
export interface AgentId {
  readonly role: Role;
  readonly rig?: string;
  readonly name?: string;
}

/** Polecat and crew names; dots are allowed but `..` is not, so a name is never a path step upwards. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const TOWN_LEVEL: ReadonlySet<Role> = new Set<Role>(["mayor", "deacon", "boot"]);

const FORMS =
  "expected mayor, deacon, boot, <rig>/witness, <rig>/refinery, <rig>/polecats/<name>, <rig>/crew/<name>, " +
  "<rig>/<polecat> or a hyphen form such as <rig>-witness";

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

export function townLevel(id: AgentId): boolean {
  return TOWN_LEVEL.has(id.role);
}

/**
 * Parses every identity form the reference uses (§8.1, §8.4 and mail addresses):
 * - town level: `mayor`, `deacon`, `boot`, with or without a trailing `/`; Boot also as `deacon-boot` (its
 *   BD_ACTOR), `deacon/boot` and `deacon/dogs/boot` (its directory), since it is the Deacon's dog;
 * - hyphen forms, in the reference's order: suffix `-witness`, suffix `-refinery`, first `-crew-`, first
 *   `-polecat-` (so `my-rig-name-witness` is the witness of `my-rig-name`);
 * - path forms: `<rig>/witness`, `<rig>/refinery`, `<rig>/crew/<name>`, `<rig>/polecats/<name>`, and the mail
 *   address `<rig>/<name>`, which names a polecat.
 * Anything else throws AppError E_BAD_IDENTITY.
 */
export function parseIdentity(text: string): AgentId {
  // Mail addresses of town-level agents carry a trailing slash (`mayor/`); one is tolerated on every form.
  const body = text.endsWith("/") ? text.slice(0, -1) : text;
  if (body === "") throw badIdentity(text, "it is empty");
  const id = body.includes("/") ? parsePathForm(text, body.split("/")) : parseHyphenForm(text, body);
  return checkIdentity(id, text);
}

function parseHyphenForm(text: string, body: string): AgentId {
  if (body === "mayor" || body === "deacon" || body === "boot") return { role: body };
  if (body === "deacon-boot") return { role: "boot" };
  if (body.endsWith("-witness")) return { role: "witness", rig: body.slice(0, -"-witness".length) };
  if (body.endsWith("-refinery")) return { role: "refinery", rig: body.slice(0, -"-refinery".length) };
  const crew = splitAtFirst(body, "-crew-");
  if (crew) return { role: "crew", rig: crew[0], name: crew[1] };
  const polecat = splitAtFirst(body, "-polecat-");
  if (polecat) return { role: "polecat", rig: polecat[0], name: polecat[1] };
  throw badIdentity(text, FORMS);
}

function parsePathForm(text: string, parts: readonly string[]): AgentId {
  if (parts.includes("")) throw badIdentity(text, "it has an empty path component");
  const [first, second, third] = parts;
  if (first === undefined || second === undefined) throw badIdentity(text, FORMS);
  // `mayor` and `deacon` are reserved rig names (rigs.ts), so these prefixes can only mean the town agents.
  if (first === "deacon") {
    const path = parts.slice(1).join("/");
    if (path === "boot" || path === "dogs/boot") return { role: "boot" };
    throw badIdentity(text, "the only agent under deacon/ is boot");
  }
  if (first === "mayor") throw badIdentity(text, "the mayor's address is mayor/ with nothing after it");
  if (parts.length === 2) {
    if (second === "witness" || second === "refinery") return { role: second, rig: first };
    if (second === "crew" || second === "polecats") {
      throw badIdentity(text, `the agent name after ${second}/ is missing`);
    }
    return { role: "polecat", rig: first, name: second };
  }
  if (parts.length === 3 && third !== undefined) {
    if (second === "crew") return { role: "crew", rig: first, name: third };
    if (second === "polecats") return { role: "polecat", rig: first, name: third };
  }
  throw badIdentity(text, FORMS);
}

function splitAtFirst(text: string, separator: string): [string, string] | undefined {
  const at = text.indexOf(separator);
  if (at < 0) return undefined;
  return [text.slice(0, at), text.slice(at + separator.length)];
}

/**
 * Checks an identity built by hand (e.g. from a directory listing) the way parseIdentity checks parsed ones,
 * so a name like `../x` never reaches a path or a tmux target. Returns the identity unchanged.
 */
export function validateIdentity(id: AgentId): AgentId {
  return checkIdentity(id, undefined);
}

/** The same names rigs.ts refuses for rigs. */
const RESERVED_RIGS: ReadonlySet<string> = new Set(["mayor", "deacon", "daemon", "settings", "hq", "boot"]);

function checkIdentity(id: AgentId, input: string | undefined): AgentId {
  const fail = (why: string): AppError =>
    input === undefined
      ? new AppError("E_BAD_IDENTITY", `Invalid agent identity ${quote(describe(id))}: ${why}`)
      : badIdentity(input, why);
  if (!isRole(id.role)) throw fail(`unknown role ${quote(String(id.role))}`);
  if (townLevel(id)) {
    if (id.rig !== undefined || id.name !== undefined) throw fail(`the ${id.role} belongs to no rig`);
    return id;
  }
  if (id.rig === undefined) throw fail(`a ${id.role} needs a rig`);
  if (!RIG_NAME.test(id.rig)) {
    throw fail(
      `rig name ${quote(id.rig)} must be letters, digits, '-' or '_', starting with a letter or digit`,
    );
  }
  // Rigs cannot take the town agents' names (rigs.ts): `deacon-witness` must not parse into an identity
  // whose canonical form would then be refused.
  if (RESERVED_RIGS.has(id.rig.toLowerCase())) throw fail(`rig name ${quote(id.rig)} is reserved`);
  if (id.role === "witness" || id.role === "refinery") {
    if (id.name !== undefined) throw fail(`a ${id.role} has no agent name`);
    return id;
  }
  if (id.name === undefined) throw fail(`a ${id.role} needs a name`);
  if (!AGENT_NAME.test(id.name) || id.name.includes("..")) {
    throw fail(
      `agent name ${quote(id.name)} must be letters, digits, '-', '_' or '.', starting with a letter or digit, without ".."`,
    );
  }
  // A polecat's session is gt-<rig>-<name>: these names would take the witness's, refinery's or a crew's session.
  if (
    id.role === "polecat" &&
    (id.name === "witness" || id.name === "refinery" || id.name.startsWith("crew-"))
  ) {
    throw fail(
      `polecat name ${quote(id.name)} would share a tmux session with the rig's ${id.name.split("-")[0] ?? ""}`,
    );
  }
  return id;
}

/** The canonical form: the reference's BD_ACTOR spelling (§8.4), e.g. `gastown/polecats/toast`. */
export function formatIdentity(id: AgentId): string {
  const { role, rig, name } = validateIdentity(id);
  switch (role) {
    case "mayor":
    case "deacon":
    case "boot":
      return role;
    case "witness":
    case "refinery":
      return `${rig ?? ""}/${role}`;
    case "polecat":
      return `${rig ?? ""}/polecats/${name ?? ""}`;
    case "crew":
      return `${rig ?? ""}/crew/${name ?? ""}`;
  }
}

/**
 * The tmux session name (§8.2, §13). Boot's is `gt-boot`, as the reference names it (§5.2, B38): not
 * `hq-deacon-boot`, which a tmux prefix match could take for `hq-deacon`. tmux silently turns `.` in a session
 * name into `_`, so this does too: the name returned is the one `has-session -t =<name>` will find.
 */
export function sessionName(id: AgentId): string {
  const { role, rig, name } = validateIdentity(id);
  const text = (() => {
    switch (role) {
      case "mayor":
      case "deacon":
        return `hq-${role}`;
      case "boot":
        return "gt-boot";
      case "witness":
      case "refinery":
        return `gt-${rig ?? ""}-${role}`;
      case "polecat":
        return `gt-${rig ?? ""}-${name ?? ""}`;
      case "crew":
        return `gt-${rig ?? ""}-crew-${name ?? ""}`;
    }
  })();
  return text.replaceAll(".", "_");
}

const BEAD_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * The agent bead id (§8.3, B87). `prefix` is the rig's beads prefix from rigs.json; a trailing `-` is trimmed
 * as the reference does. Town-level agents live in the town's `hq` beads whatever the prefix.
 */
export function beadId(id: AgentId, prefix = "gt"): string {
  const { role, rig, name } = validateIdentity(id);
  const p = prefix.replace(/-+$/, "");
  if (!BEAD_PREFIX.test(p)) {
    throw new AppError(
      "E_BAD_IDENTITY",
      `Invalid beads prefix ${quote(prefix)}: must be letters, digits, '-' or '_', starting with a letter or digit`,
    );
  }
  switch (role) {
    case "mayor":
    case "deacon":
    case "boot":
      return `hq-${role}`;
    case "witness":
    case "refinery":
      return `${p}-${rig ?? ""}-${role}`;
    case "polecat":
    case "crew":
      return `${p}-${rig ?? ""}-${role}-${name ?? ""}`;
  }
}

function badIdentity(input: string, why: string): AppError {
  return new AppError("E_BAD_IDENTITY", `Invalid agent identity ${quote(input)}: ${why}`);
}

function describe(id: AgentId): string {
  return [id.role, id.rig, id.name].filter((part) => part !== undefined).join("/");
}

/**
 * JSON-quotes untrusted text for a one-line message: control characters, non-ASCII (bidi overrides, line
 * separators) are escaped rather than printed, and long input is cut.
 */
function quote(text: string): string {
  const long = text.length > 80;
  const quoted = JSON.stringify(long ? text.slice(0, 80) : text).replace(
    /[^\x20-\x7e]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return long ? `${quoted}...` : quoted;
}
