import picocolors from "picocolors";

/**
 * Colour only for a person at a terminal: stdout is a TTY and NO_COLOR is not set, or FORCE_COLOR asks for
 * it (and FORCE_COLOR=0 does not). picocolors alone would also colour piped output whenever CI is set.
 */
export function colourEnabled(
  env: NodeJS.ProcessEnv = process.env,
  // isTTY is undefined, not false, on a pipe, although @types/node declares it boolean.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- see above
  tty: boolean = Boolean(process.stdout.isTTY),
): boolean {
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return tty;
}

export const pc = picocolors.createColors(colourEnabled());
