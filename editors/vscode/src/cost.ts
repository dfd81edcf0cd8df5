/**
 * What a session's turns used (`inputTokens`, `outputTokens`) and what that cost
 * with its provider's `pricing` from `atmos/providers/list` (USD per million
 * tokens). Pure logic, no VS Code import: the chat page uses it too.
 */
import type { Pricing, ProviderInfo } from "./protocol";
import { formatTokens } from "./transcript";

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Estimated cost in USD; undefined when atmos.yaml gives the provider no pricing. */
  cost?: number;
}

/** The session's usage, and its cost when `pricing` is known. */
export function sessionUsage(
  session: { inputTokens?: number; outputTokens?: number },
  pricing: Pricing | undefined,
): Usage {
  const inputTokens = session.inputTokens ?? 0;
  const outputTokens = session.outputTokens ?? 0;
  return {
    inputTokens,
    outputTokens,
    cost: pricing ? (inputTokens * pricing.input + outputTokens * pricing.output) / 1_000_000 : undefined,
  };
}

/** The pricing of a provider, by name, from `atmos/providers/list`. */
export function pricingOf(providers: readonly ProviderInfo[] | undefined, provider: string): Pricing | undefined {
  return providers?.find((p) => p.name === provider)?.pricing;
}

/** A cost as people read it (as the CLI shows it): `$0.0213` under a dollar, `$12.40` above. */
export function formatCost(usd: number): string {
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** `1.2k in · 340 out · ≈$0.0213` (without the cost when there is no pricing). */
export function formatUsage(u: Usage): string {
  const tokens = `${formatTokens(u.inputTokens)} in · ${formatTokens(u.outputTokens)} out`;
  return u.cost === undefined ? tokens : `${tokens} · ≈${formatCost(u.cost)}`;
}
