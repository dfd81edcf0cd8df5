import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { resolveBinary } from "../../src/binary";
import { BinaryMissingError } from "../../src/errorInfo";

describe("resolveBinary", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atmos-bin-"));
  const bin = path.join(dir, "atmos");
  fs.writeFileSync(bin, "#!/bin/sh\n", { mode: 0o755 });
  const plain = path.join(dir, "plain");
  fs.writeFileSync(plain, "", { mode: 0o644 });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("finds a name on PATH", () => {
    assert.equal(resolveBinary("atmos", "/", { PATH: `/nonexistent${path.delimiter}${dir}` }), bin);
  });

  it("resolves a path relative to the folder", () => {
    assert.equal(resolveBinary("./atmos", dir, {}), bin);
    assert.equal(resolveBinary(bin, "/", {}), bin);
  });

  it("says how to install it when it is missing", () => {
    assert.throws(
      () => resolveBinary("atmos", "/", { PATH: "/nonexistent" }),
      (e: unknown) => e instanceof BinaryMissingError && /not found on PATH/.test(e.message) && /cargo install --path cli/.test(e.message),
    );
    assert.throws(() => resolveBinary(path.join(dir, "nope"), "/", {}), /no such file/);
    if (process.platform !== "win32") {
      assert.throws(() => resolveBinary(plain, "/", {}), /not executable/);
    }
  });
});
