#!/usr/bin/env node
import { runCli } from "./cli.js";

// A reader that goes away (`townd status | head`, `townd logs -f | grep -m1 …`) ends the command quietly, as
// it ends other Unix tools, instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
