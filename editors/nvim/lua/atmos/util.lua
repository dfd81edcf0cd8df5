--- Small shared pieces: notifications and the server's errors in the user's terms.
local M = {}

local codes = require("atmos.client").errors

--- `vim.notify` with the plugin's title.
---@param msg string
---@param level? integer
function M.notify(msg, level)
  vim.notify(msg, level or vim.log.levels.INFO, { title = "atmos" })
end

--- The server's own message for an error, with a fix added where the server has none.
---@param err table  `{ code, message, data }`
---@return string
function M.error_message(err)
  local msg = err.message or vim.inspect(err)
  if err.code == codes.sessions_disabled then
    msg = msg .. "\nTurn sessions on in atmos.yaml:\n\nai:\n  sessions:\n    enabled: true"
  end
  if not msg:match("^atmos") then
    msg = "atmos: " .. msg
  end
  return msg
end

--- Reports a failed request, unless it was cancelled by the user.
---@param err table
function M.report(err)
  if err.code == codes.request_cancelled then
    return
  end
  M.notify(M.error_message(err), vim.log.levels.ERROR)
end

--- `cb(result)` when the request succeeded; otherwise the error is reported.
---@param cb fun(result: any)
---@return fun(err: table?, result: any)
function M.on_ok(cb)
  return function(err, result)
    if err then
      M.report(err)
      return
    end
    cb(result)
  end
end

--- "2026-11-24T09:30:00Z" → "2026-11-24 09:30".
---@param t? string
---@return string
function M.short_time(t)
  if type(t) ~= "string" then
    return ""
  end
  return (t:sub(1, 16):gsub("T", " "))
end

--- A rough token count of a text (4 characters a token, as the server's estimate).
---@param text string
---@return integer
function M.tokens(text)
  return math.ceil(#text / 4)
end

return M
