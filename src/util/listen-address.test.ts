import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { baseUrl, isLoopbackHost, parseListenAddress } from "./listen-address.js";

describe("parseListenAddress()", () => {
  it("reads HOST:PORT, [IPv6]:PORT, and a bare port as loopback", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:7420"), { host: "127.0.0.1", port: 7420 });
    assert.deepEqual(parseListenAddress("[::1]:7420"), { host: "::1", port: 7420 });
    assert.deepEqual(parseListenAddress("localhost:80"), { host: "localhost", port: 80 });
    assert.deepEqual(parseListenAddress("0.0.0.0:9000"), { host: "0.0.0.0", port: 9000 });
    assert.deepEqual(parseListenAddress(":7420"), { host: "127.0.0.1", port: 7420 });
    assert.deepEqual(parseListenAddress("7420"), { host: "127.0.0.1", port: 7420 });
  });

  it("refuses what is not an address, saying what is wrong", () => {
    assert.throws(() => parseListenAddress("127.0.0.1"), /no port/);
    assert.throws(() => parseListenAddress("127.0.0.1:0"), /port 0 is outside 1–65535/);
    assert.throws(() => parseListenAddress("127.0.0.1:65536"), /outside/);
    assert.throws(() => parseListenAddress("127.0.0.1:http"), /port "http" is not a number/);
    assert.throws(() => parseListenAddress("::1:7420"), /must be in brackets/);
    assert.throws(() => parseListenAddress("[127.0.0.1]:7420"), /not an IPv6 address/);
    assert.throws(() => parseListenAddress("bad host!:7420"), /not an IP address or a host name/);
    assert.throws(() => parseListenAddress("$(reboot):7420"), /not an IP address or a host name/);
  });
});

describe("isLoopbackHost() and baseUrl()", () => {
  it("knows which addresses only this machine reaches", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.ok(isLoopbackHost(host), host);
    for (const host of ["0.0.0.0", "::", "192.168.1.5", "example.org"])
      assert.ok(!isLoopbackHost(host), host);
  });

  it("gives the URL a browser on this machine opens", () => {
    assert.equal(baseUrl({ host: "127.0.0.1", port: 7420 }), "http://127.0.0.1:7420/");
    assert.equal(baseUrl({ host: "0.0.0.0", port: 7420 }), "http://127.0.0.1:7420/");
    assert.equal(baseUrl({ host: "::", port: 7420 }), "http://[::1]:7420/");
    assert.equal(baseUrl({ host: "::1", port: 80 }), "http://[::1]:80/");
    assert.equal(baseUrl({ host: "box.lan", port: 8080 }), "http://box.lan:8080/");
  });
});
