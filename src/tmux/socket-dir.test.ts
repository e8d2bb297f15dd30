import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { prepareSocketDir, socketDirPolicy } from "./socket-dir.js";

const uid = process.getuid?.() ?? 0;
/** Another user to hand a directory to (tests run as root in CI; elsewhere chown is skipped). */
const NOBODY = 65534;
const canChown = uid === 0;

describe("the tmux socket directory (issue 14 item 1)", () => {
  const temp = makeTempDir("td-sock-");
  after(() => {
    temp.cleanup();
  });
  let n = 0;
  /** A fresh $TMUX_TMPDIR; the socket goes in its tmux-$UID. */
  const base = (): string => {
    const dir = join(temp.dir, `b${n++}`);
    mkdirSync(dir);
    return dir;
  };
  const refused = async (socket: string, policy: "private" | "owned", problem: RegExp): Promise<void> => {
    await assert.rejects(prepareSocketDir(socket, policy, uid), (error: Error) => {
      assert.match(error.message, /^Unsafe tmux socket directory \//);
      assert.match(error.message, problem);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  };

  it("a bare name or no setting means tmux's private directory; a path means its own", () => {
    assert.equal(socketDirPolicy(undefined), "private");
    assert.equal(socketDirPolicy("agents"), "private");
    assert.equal(socketDirPolicy("run/t.sock"), "owned");
  });

  it("creates a missing tmux-$UID directory with mode 0700", async () => {
    const dir = join(base(), `tmux-${uid}`);
    await prepareSocketDir(join(dir, "s"), "private", uid);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  it("refuses an existing tmux-$UID directory with mode 0777, naming it and the mode", async () => {
    const dir = join(base(), `tmux-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    await refused(join(dir, "s"), "private", new RegExp(`${dir}: its mode is 0777`));
    chmodSync(dir, 0o750);
    await refused(join(dir, "s"), "private", /its mode is 0750/);
    chmodSync(dir, 0o700);
    await prepareSocketDir(join(dir, "s"), "private", uid);
  });

  it(
    "refuses a tmux-$UID directory owned by another user",
    { skip: !canChown && "needs root to chown" },
    async () => {
      const dir = join(base(), `tmux-${uid}`);
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, NOBODY, NOBODY);
      await refused(join(dir, "s"), "private", new RegExp(`owned by uid ${NOBODY}, not by uid ${uid}`));
    },
  );

  it("refuses a tmux-$UID that is a symlink, even to a good directory", async () => {
    const root = base();
    const real = join(root, "real");
    mkdirSync(real, { mode: 0o700 });
    const dir = join(root, `tmux-${uid}`);
    symlinkSync(real, dir);
    await refused(join(dir, "s"), "private", /it is a symbolic link/);
  });

  it("a socket path's directory: others must not be able to write in it unless it is sticky", async () => {
    const dir = join(base(), "run");
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    await refused(join(dir, "t.sock"), "owned", /its mode is 0777: others can replace the socket in it/);
    chmodSync(dir, 0o1777);
    await prepareSocketDir(join(dir, "t.sock"), "owned", uid);
    chmodSync(dir, 0o755);
    await prepareSocketDir(join(dir, "t.sock"), "owned", uid);
  });

  it(
    "a socket path's directory owned by another user, or a socket there that is not ours, is refused",
    { skip: !canChown && "needs root to chown" },
    async () => {
      const dir = join(base(), "run");
      mkdirSync(dir, { mode: 0o755 });
      chownSync(dir, NOBODY, NOBODY);
      await refused(
        join(dir, "t.sock"),
        "owned",
        new RegExp(`owned by uid ${NOBODY}, not by uid ${uid} or root`),
      );
      chownSync(dir, uid, uid);
      chmodSync(dir, 0o1777);
      const socket = join(dir, "t.sock");
      writeFileSync(socket, "");
      chownSync(socket, NOBODY, NOBODY);
      await refused(socket, "owned", new RegExp(`the socket ${socket} in it is owned by uid ${NOBODY}`));
    },
  );

  it("creates a missing socket path directory 0700", async () => {
    const dir = join(base(), "a", "b");
    await prepareSocketDir(join(dir, "t.sock"), "owned", uid);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
});
