import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/**
 * Where `command` would be found when an agent starts, or null when it would not be: an absolute path must
 * be an executable file; a bare name is searched on `path` (the agent's PATH) like execvp does. A relative
 * path with a slash depends on the agent's directory and is returned as it is, unchecked.
 */
export function findCommand(command: string, path: string | undefined): string | null {
  if (isAbsolute(command)) return executable(command) ? command : null;
  if (command.includes("/")) return command;
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    if (executable(candidate)) return candidate;
  }
  return null;
}

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
