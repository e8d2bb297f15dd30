import assert from "node:assert/strict";
import { readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir } from "../../test/helpers/tmp.js";
import { authenticate, cookieName, cookieValue, sessionCookie } from "./auth.js";
import { ensureToken, readToken, tokenFile, tokenMatches, writeToken } from "./token.js";

const TOKEN = "k".repeat(43);
const none = { query: null, cookieHeader: undefined, authorization: undefined };

describe("authenticate()", () => {
  const cookie = cookieName(7420);

  it("accepts the token as ?token=, as the port's cookie, or as a Bearer header", () => {
    assert.deepEqual(authenticate({ ...none, query: TOKEN }, TOKEN, cookie), { ok: true, via: "query" });
    assert.deepEqual(authenticate({ ...none, cookieHeader: `a=1; ${cookie}=${TOKEN}; b=2` }, TOKEN, cookie), {
      ok: true,
      via: "cookie",
    });
    assert.deepEqual(authenticate({ ...none, authorization: `Bearer ${TOKEN}` }, TOKEN, cookie), {
      ok: true,
      via: "bearer",
    });
    assert.deepEqual(authenticate({ ...none, authorization: `bearer  ${TOKEN} ` }, TOKEN, cookie), {
      ok: true,
      via: "bearer",
    });
  });

  it("refuses nothing (missing) and anything else (wrong), and everything when there is no token", () => {
    assert.deepEqual(authenticate(none, TOKEN, cookie), { ok: false, why: "missing" });
    assert.deepEqual(authenticate({ ...none, query: "" }, TOKEN, cookie), { ok: false, why: "missing" });
    assert.deepEqual(authenticate({ ...none, query: "nope" }, TOKEN, cookie), { ok: false, why: "wrong" });
    assert.deepEqual(authenticate({ ...none, query: `${TOKEN}x` }, TOKEN, cookie), {
      ok: false,
      why: "wrong",
    });
    assert.deepEqual(authenticate({ ...none, authorization: `Basic ${TOKEN}` }, TOKEN, cookie), {
      ok: false,
      why: "missing",
    });
    // Another town's dashboard on the same host has its own cookie.
    assert.deepEqual(authenticate({ ...none, cookieHeader: `${cookieName(7421)}=${TOKEN}` }, TOKEN, cookie), {
      ok: false,
      why: "missing",
    });
    assert.deepEqual(authenticate({ ...none, query: TOKEN }, undefined, cookie), { ok: false, why: "wrong" });
  });

  it("lets a right credential through beside a wrong one", () => {
    assert.deepEqual(
      authenticate(
        { query: "stale", cookieHeader: `${cookie}=${TOKEN}`, authorization: undefined },
        TOKEN,
        cookie,
      ),
      { ok: true, via: "cookie" },
    );
  });

  it("reads cookies and writes a cookie scripts cannot read and other sites cannot send", () => {
    assert.equal(cookieValue("a=1;b = 2 ; c=3", "b"), "2");
    assert.equal(cookieValue("ab=1", "b"), undefined);
    assert.equal(cookieValue(undefined, "b"), undefined);
    assert.match(sessionCookie(cookie, TOKEN), /HttpOnly/);
    assert.match(sessionCookie(cookie, TOKEN), /SameSite=Strict/);
    assert.match(sessionCookie(cookie, TOKEN), /Path=\//);
  });

  it("tokenMatches() compares whole tokens of any length", () => {
    assert.ok(tokenMatches(TOKEN, TOKEN));
    assert.ok(!tokenMatches(TOKEN.slice(1), TOKEN));
    assert.ok(!tokenMatches("", ""));
    assert.ok(!tokenMatches(undefined, TOKEN));
  });
});

describe("the token file", () => {
  let tmp: { dir: string; cleanup: () => void };
  before(() => {
    tmp = makeTempDir("token-");
  });
  after(() => {
    tmp.cleanup();
  });

  it("is made once, owner-only, and kept; --new-token replaces it", () => {
    const first = ensureToken(tmp.dir);
    assert.match(first, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((statSync(tokenFile(tmp.dir)).mode & 0o777).toString(8), "600");
    assert.equal(ensureToken(tmp.dir), first, "the same token next time");
    const second = writeToken(tmp.dir);
    assert.notEqual(second, first);
    assert.equal(readToken(tmp.dir), second);
    assert.equal(readFileSync(tokenFile(tmp.dir), "utf8"), `${second}\n`);
  });

  it("replaces a file without a usable token, and never reads through a symbolic link", () => {
    writeFileSync(tokenFile(tmp.dir), "short\n");
    assert.equal(readToken(tmp.dir), undefined);
    assert.match(ensureToken(tmp.dir), /^[A-Za-z0-9_-]{43}$/);
    const elsewhere = join(tmp.dir, "elsewhere");
    writeFileSync(elsewhere, `${TOKEN}\n`);
    const linked = makeTempDir("token-link-");
    try {
      symlinkSync(elsewhere, tokenFile(linked.dir));
      assert.equal(readToken(linked.dir), undefined);
    } finally {
      linked.cleanup();
    }
  });
});
