--- What a session used and cost: its token counters, priced with the `pricing` that
--- `atmos/providers/list` gives for its provider (USD per million tokens, from atmos.yaml).
local client = require("atmos.client")

local M = {}

---@class atmos.Pricing
---@field input number   per million input tokens
---@field output number  per million output tokens

--- Per project root: provider name → its pricing (false when it has none).
---@type table<string, table<string, atmos.Pricing|false>>
local prices = {}
---@type table<string, fun()[]>
local loading = {}

--- Remembers the providers of a root (from `atmos/providers/list`).
---@param root string
---@param providers table[]
function M.remember(root, providers)
  local by_name = {}
  for _, p in ipairs(providers or {}) do
    local pr = p.pricing
    by_name[p.name] = type(pr) == "table" and type(pr.input) == "number" and type(pr.output) == "number" and pr or false
  end
  prices[root] = by_name
end

--- Reads the providers' pricing of `root` once (again with `force`), then `cb()`.
---@param root string
---@param cb? fun()
---@param force? boolean
function M.load(root, cb, force)
  if prices[root] and not force then
    if cb then
      cb()
    end
    return
  end
  if loading[root] then
    table.insert(loading[root], cb)
    return
  end
  loading[root] = { cb }
  client.providers_list(root, vim.empty_dict(), function(err, res)
    local waiting = loading[root] or {}
    loading[root] = nil
    if not err and res then
      M.remember(root, res.providers)
    end
    for _, fn in pairs(waiting) do
      fn()
    end
  end)
end

--- The pricing of a provider of `root`, when atmos.yaml gives one (and it was read).
---@param root string
---@param provider string
---@return atmos.Pricing?
function M.pricing(root, provider)
  local p = prices[root] and prices[root][provider]
  return p or nil
end

--- `(input × in + output × out) / 1,000,000` in USD.
---@param session table
---@param pricing atmos.Pricing
---@return number
function M.estimate(session, pricing)
  return ((session.inputTokens or 0) * pricing.input + (session.outputTokens or 0) * pricing.output) / 1e6
end

--- "$0.0123" (more digits below a hundredth of a cent, so a cheap session is not $0.0000).
---@param usd number
---@return string
function M.format_usd(usd)
  if usd > 0 and usd < 0.0001 then
    return ("$%.6f"):format(usd)
  end
  return ("$%.4f"):format(usd)
end

--- The header's parts: `used 1250 in / 14 out` and, when priced, `$0.0041`.
---@param root string
---@param session table
---@return string[]
function M.parts(root, session)
  local parts = {}
  if session.inputTokens or session.outputTokens then
    table.insert(parts, ("used %d in / %d out"):format(session.inputTokens or 0, session.outputTokens or 0))
  end
  local pricing = M.pricing(root, session.provider)
  if pricing then
    table.insert(parts, M.format_usd(M.estimate(session, pricing)))
  end
  return parts
end

return M
