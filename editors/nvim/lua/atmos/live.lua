--- Live chats: while a chat's transcript is shown, its session is subscribed to
--- (`atmos/session/subscribe`), so what other processes do to it (the terminal chat,
--- another editor, `atmos ai ask`) arrives as `atmos/session/updated`: new messages, a reply
--- streaming elsewhere, a history rewritten (compaction, pin, retry). Hidden, it is not.
local client = require("atmos.client")
local transcript = require("atmos.transcript")
local util = require("atmos.util")

local M = {}

local codes = client.errors

local function chat()
  return require("atmos.chat")
end

---@param c atmos.Chat
local function shown(c)
  return vim.api.nvim_buf_is_valid(c.buf) and #vim.fn.win_findbuf(c.buf) > 0
end

--- Whether changes from elsewhere reach this chat (or are about to).
---@param c atmos.Chat
---@return boolean
function M.on(c)
  return c.live == "on" or c.live == "pending"
end

--- Whether a chat shows as many messages and summaries as the server's session has.
---@param c atmos.Chat
---@param session table
---@return boolean
function M.shows_all(c, session)
  local messages, summaries = 0, 0
  for _, m in ipairs(c.messages) do
    if m.isSummary then
      summaries = summaries + 1
    else
      messages = messages + 1
    end
  end
  return messages == (session.messageCount or messages) and summaries == (session.summaryCount or summaries)
end

--- Subscribes to a chat's session, from the newest message it shows on. Does nothing when
--- the chat is hidden, not loaded yet, already subscribed, or the server is older.
---@param c atmos.Chat
function M.subscribe(c)
  if not c.loaded or c.deleted or M.on(c) or c.live == "unsupported" or not shown(c) then
    return
  end
  c.live = "pending"
  local gen = c.gen
  -- "0" when none is shown: every message stored meanwhile comes at once.
  local params = { id = c.session.id, after = transcript.newest_id(c.messages) or "0" }
  client.session_subscribe(c.root, params, function(err, res)
    if err then
      if c.live == "pending" then
        c.live = err.code == codes.method_not_found and "unsupported" or "off"
      end
      local quiet = { codes.method_not_found, codes.session_not_found, codes.request_cancelled, codes.sessions_disabled }
      if not vim.tbl_contains(quiet, err.code) then
        util.report(err)
      end
      return
    end
    if c.live ~= "pending" then
      -- Hidden again while the answer was on its way.
      client.session_unsubscribe(c.root, { id = c.session.id }, function() end)
      return
    end
    c.live = "on"
    local known = c.session
    if c.gen == gen then
      -- (An update that came first is newer than this answer.)
      c.session = res.session or c.session
      c.replying_elsewhere = res.replyingElsewhere == true
    end
    chat().update_header(c)
    if res.session and (res.session.updatedAt ~= known.updatedAt or not M.shows_all(c, res.session)) then
      -- Changed since this chat last read it (while it was hidden, say): `after` brings
      -- only messages newer than one shown (none when none is), so read it all again.
      chat().reload(c)
    end
  end)
end

--- Stops the updates of a chat's session (its transcript is no longer shown).
---@param c atmos.Chat
function M.unsubscribe(c)
  if not M.on(c) then
    return
  end
  local was = c.live
  c.live = "off"
  c.replying_elsewhere = false
  chat().update_header(c)
  if was == "on" and not c.deleted then
    client.session_unsubscribe(c.root, { id = c.session.id }, function() end)
  end
end

--- Follows the chat's transcript buffer: subscribed while a window shows it.
---@param c atmos.Chat
function M.attach(c)
  local group = vim.api.nvim_create_augroup("atmos.live." .. c.buf, { clear = true })
  vim.api.nvim_create_autocmd("BufWinEnter", {
    group = group,
    buffer = c.buf,
    callback = function()
      vim.schedule(function()
        M.subscribe(c)
      end)
    end,
  })
  vim.api.nvim_create_autocmd("BufWinLeave", {
    group = group,
    buffer = c.buf,
    callback = function()
      vim.schedule(function()
        if not shown(c) then
          M.unsubscribe(c)
        end
      end)
    end,
  })
  vim.api.nvim_create_autocmd({ "BufWipeout", "BufDelete" }, {
    group = group,
    buffer = c.buf,
    callback = function()
      M.unsubscribe(c)
    end,
  })
end

client.on(client.notifications.session_updated, function(p, root)
  for _, c in ipairs(chat().list()) do
    if c.root == root and c.session.id == p.sessionId and M.on(c) and vim.api.nvim_buf_is_valid(c.buf) then
      chat().apply_update(c, p)
    end
  end
end)

return M
