--- Edits of a chat's history at one message: fork the session from it, pin it, undo a
--- compaction. The message is the one under the cursor in the transcript (each heading
--- carries a mark), else the newest one.
local chat = require("atmos.chat")
local client = require("atmos.client")
local marks = require("atmos.marks")
local util = require("atmos.util")

local M = {}

--- The message under the cursor when the current window shows the chat's transcript.
---@param c atmos.Chat
---@return table?
local function under_cursor(c)
  if vim.api.nvim_get_current_buf() ~= c.buf then
    return nil
  end
  return marks.message_at(c, vim.api.nvim_win_get_cursor(0)[1] - 1)
end

--- The message a command acts on: under the cursor, else the newest one (not a summary).
---@param c atmos.Chat
---@return table?
function M.target(c)
  local msg = under_cursor(c)
  if msg then
    return msg
  end
  for i = #c.messages, 1, -1 do
    if not c.messages[i].isSummary then
      return c.messages[i]
    end
  end
end

--- Says so and returns false when a message has no id yet (a turn still being stored).
local function has_id(msg)
  if msg.id == nil then
    util.notify("atmos: this message is still being stored: try again in a moment", vim.log.levels.WARN)
    return false
  end
  return true
end

--- `:AtmosFork [new-name]`: a new session with the history up to the message under the
--- cursor (or the newest), then its chat. On a summary: up to the last message it replaced.
---@param c atmos.Chat
---@param new_name? string
function M.fork(c, new_name)
  local msg = M.target(c)
  local at
  if msg and msg.isSummary then
    at = type(msg.summaryRange) == "table" and msg.summaryRange.to or nil
  elseif msg then
    if not has_id(msg) then
      return
    end
    at = msg.id
  end
  local params = { id = c.session.id, at = at }
  if new_name and vim.trim(new_name) ~= "" then
    params.newName = vim.trim(new_name)
  end
  client.session_fork(
    c.root,
    params,
    util.on_ok(function(res)
      chat.announce_evicted(res.evicted)
      util.notify(
        ("atmos: forked %s%s into %s"):format(c.session.name, at and (" at message " .. at) or "", res.session.name)
      )
      chat.open_session(c.root, res.session)
    end)
  )
end

--- `:AtmosPin`: pins the message under the cursor (or the newest), or unpins a pinned
--- one. A pinned message is always sent to the model and never compacted.
---@param c atmos.Chat
---@param pinned? boolean  nil: toggle
function M.pin(c, pinned)
  local msg = M.target(c)
  if not msg then
    util.notify("atmos: there is no message to pin yet", vim.log.levels.WARN)
    return
  end
  if msg.isSummary then
    util.notify("atmos: a summary cannot be pinned: put the cursor on one of the messages", vim.log.levels.WARN)
    return
  end
  if not has_id(msg) then
    return
  end
  if pinned == nil then
    pinned = not msg.pinned
  end
  local archived = msg.archived
  client.session_pin(
    c.root,
    { id = c.session.id, messageId = msg.id, pinned = pinned },
    util.on_ok(function(res)
      c.session = res.session or c.session
      if archived then
        chat.reload(c) -- pinned, an archived message is active again: the folds change
      else
        chat.replace_message(c, msg, res.message)
      end
      util.notify(
        pinned and "atmos: pinned: this message is always sent to the model and never compacted"
          or "atmos: unpinned: this message can be compacted again"
      )
    end)
  )
end

--- `:AtmosUncompact`: undoes the compaction of the summary under the cursor (else the
--- session's live summary): the messages it replaced are sent again, the summary is kept,
--- archived.
---@param c atmos.Chat
function M.uncompact(c)
  local params = { id = c.session.id }
  local msg = under_cursor(c)
  if msg and msg.isSummary and not msg.archived and msg.id then
    params.summaryId = msg.id
  end
  client.session_uncompact(
    c.root,
    params,
    util.on_ok(function(res)
      c.session = res.session or c.session
      local n = #(res.restored or {})
      util.notify(
        ("atmos: restored %d message(s) of %s: they are sent to the model again; the summary is kept, archived"):format(
          n,
          c.session.name
        )
      )
      chat.reload(c)
    end)
  )
end

return M
