import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { AppError } from "../errors.js";
import { defaultSocketPath, resolveSocketPath } from "./socket.js";

const hash8 = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 8);

describe("defaultSocketPath", () => {
  it("lives in tmux's own socket directory and names the town", () => {
    const path = defaultSocketPath("/home/ann/my-town", {}, 1000);
    assert.equal(path, `/tmp/tmux-1000/townd-my-town-${hash8("/home/ann/my-town")}`);
  });

  it("honours TMUX_TMPDIR and treats an empty one as unset", () => {
    const root = "/srv/t";
    assert.equal(
      defaultSocketPath(root, { TMUX_TMPDIR: "/run/u" }, 5),
      `/run/u/tmux-5/townd-t-${hash8(root)}`,
    );
    assert.equal(defaultSocketPath(root, { TMUX_TMPDIR: "" }, 5), `/tmp/tmux-5/townd-t-${hash8(root)}`);
  });

  it("sanitises and shortens the directory name", () => {
    const root = "/x/My Town (2); rm -rf ~ and a very long tail";
    const name = defaultSocketPath(root, {}, 0).split("/").at(-1) ?? "";
    const label = name.slice("townd-".length, -"-12345678".length);
    assert.match(label, /^[A-Za-z0-9_-]{1,20}$/);
    assert.equal(label, "My_Town_2_rm_-rf_and");
    assert.ok(name.endsWith(`-${hash8(root)}`));
  });

  it("keeps towns with the same name apart", () => {
    assert.notEqual(defaultSocketPath("/a/town", {}, 1), defaultSocketPath("/b/town", {}, 1));
  });

  it("resolves a relative town root and survives the root directory", () => {
    assert.equal(defaultSocketPath("/a/town/", {}, 1), defaultSocketPath("/a/town", {}, 1));
    assert.match(defaultSocketPath("/", {}, 1), /\/townd-town-[0-9a-f]{8}$/);
  });
});

describe("resolveSocketPath", () => {
  const env = { TMUX_TMPDIR: "/run/u" };

  it("uses the default when unset", () => {
    assert.equal(resolveSocketPath(undefined, "/t/x", env, 7), defaultSocketPath("/t/x", env, 7));
  });

  it("treats a bare name as a socket in tmux's directory, like -L", () => {
    assert.equal(resolveSocketPath("agents", "/t/x", env, 7), "/run/u/tmux-7/agents");
  });

  it("treats a setting with a slash as a path relative to the town root", () => {
    assert.equal(resolveSocketPath("run/tmux.sock", "/t/x", env, 7), "/t/x/run/tmux.sock");
    assert.equal(resolveSocketPath("./s", "/t/x", env, 7), "/t/x/s");
    assert.equal(resolveSocketPath("/abs/s", "/t/x", env, 7), "/abs/s");
  });

  it("rejects names that are not file names", () => {
    for (const bad of ["", ".", ".."]) {
      assert.throws(() => resolveSocketPath(bad, "/t/x", env, 7), AppError);
    }
  });

  it("rejects a path too long for a Unix socket, naming its length", () => {
    const long = `/${"d".repeat(120)}/s`;
    assert.throws(() => resolveSocketPath(long, "/t", env, 7), /123 bytes, over the 107-byte limit/);
  });
});
