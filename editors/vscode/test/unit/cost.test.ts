import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCost, formatUsage, pricingOf, sessionUsage } from "../../src/cost";
import { redactionNotice } from "../../src/turns";

describe("session usage and cost", () => {
  it("prices the tokens per million, input and output apart", () => {
    const u = sessionUsage({ inputTokens: 12_000, outputTokens: 3_000 }, { input: 3, output: 15 });
    assert.equal(u.inputTokens, 12_000);
    assert.equal(u.outputTokens, 3_000);
    assert.ok(Math.abs(u.cost! - (0.036 + 0.045)) < 1e-12, String(u.cost));
  });

  it("has no cost without a pricing, and zero tokens when the server gives none", () => {
    assert.deepEqual(sessionUsage({}, undefined), { inputTokens: 0, outputTokens: 0, cost: undefined });
  });

  it("finds a provider's pricing by name", () => {
    const providers = [
      { name: "anthropic", model: "m", configured: true, pricing: { input: 3, output: 15 } },
      { name: "ollama", model: "llama", configured: true },
    ];
    assert.deepEqual(pricingOf(providers, "anthropic"), { input: 3, output: 15 });
    assert.equal(pricingOf(providers, "ollama"), undefined);
    assert.equal(pricingOf(undefined, "anthropic"), undefined);
  });

  it("shows a cost as the CLI does: four decimals under a dollar, two above", () => {
    assert.equal(formatCost(0.0213), "$0.0213");
    assert.equal(formatCost(0), "$0.0000");
    assert.equal(formatCost(12.4), "$12.40");
  });

  it("shows the tokens, and the cost when there is one", () => {
    assert.equal(formatUsage({ inputTokens: 1234, outputTokens: 340, cost: 0.0213 }), "1.2k in · 340 out · ≈$0.0213");
    assert.equal(formatUsage({ inputTokens: 5, outputTokens: 7 }), "5 in · 7 out");
  });
});

describe("redactionNotice", () => {
  it("says how many secrets were masked, and nothing for none", () => {
    assert.equal(redactionNotice(1), "Masked 1 secret before sending");
    assert.equal(redactionNotice(3), "Masked 3 secrets before sending");
    assert.equal(redactionNotice(0), undefined);
    assert.equal(redactionNotice(undefined), undefined);
  });
});
