--- A transcript as markdown lines: pure functions of the server's messages, no IO.
local util = require("atmos.util")

local M = {}

--- What a pinned message's heading carries.
M.pin_mark = "📌 pinned"

---@param text string
---@return string[]
function M.split(text)
  return vim.split(text, "\n", { plain = true })
end

--- A message's heading: who, when, and what happened to it.
--- `opts.streaming`: the reply is still being written by another process.
---@param msg table
---@param level string  "##" or "###"
---@param opts? { streaming?: boolean }
---@return string
function M.heading(msg, level, opts)
  local who = msg.role == "user" and "You" or "Assistant"
  local parts = { ("%s %s · %s"):format(level, who, util.short_time(msg.createdAt)) }
  if msg.pinned then
    table.insert(parts, M.pin_mark)
  end
  if msg.archived then
    table.insert(parts, "archived")
  end
  if opts and opts.streaming then
    table.insert(parts, "replying elsewhere…")
  elseif msg.interrupted then
    table.insert(parts, "interrupted")
  end
  return table.concat(parts, " · ")
end

--- The heading of a summary block: which messages it replaced.
---@param s table
---@return string
function M.summary_heading(s)
  local range = s.summaryRange or {}
  local line = ("## Summary of messages %s–%s · %s"):format(range.from or "?", range.to or "?", util.short_time(s.createdAt))
  if s.archived then
    line = line .. " · undone (archived)"
  end
  return line
end

--- The lines of one message that is not a summary: heading, blank, text, blank.
---@param msg table
---@param level string
---@param opts? { streaming?: boolean }
---@return string[]
function M.message(msg, level, opts)
  local lines = { M.heading(msg, level, opts), "" }
  vim.list_extend(lines, M.split(msg.content or ""))
  table.insert(lines, "")
  return lines
end

--- Whether the newest message is a reply another process is still writing.
---@param messages table[]
---@param i integer
---@param streaming? boolean  another process holds the session's turn
local function is_streaming(messages, i, streaming)
  local m = messages[i]
  return streaming and i == #messages and m.role == "assistant" and m.interrupted and not m.archived or false
end

--- Message ids are opaque strings, numeric in practice: compare as numbers when they are.
local function id_key(id)
  return tonumber(id) or id
end

--- The newest id among `messages` (nil when none has one).
---@param messages table[]
---@return string?
function M.newest_id(messages)
  local best
  for _, m in ipairs(messages) do
    if m.id ~= nil then
      local k = id_key(m.id)
      if best == nil or (type(k) == type(id_key(best)) and k > id_key(best)) then
        best = m.id
      end
    end
  end
  return best
end

--- Whether a summary's range covers a message id.
local function covers(summary, id)
  local r = summary.summaryRange
  if type(r) ~= "table" then
    return false
  end
  local a, b, x = id_key(r.from), id_key(r.to), id_key(id)
  if type(a) ~= type(x) or type(b) ~= type(x) then
    return false
  end
  return a <= x and x <= b
end

---@class atmos.Rendered
---@field lines string[]
---@field folds table<integer, integer>  summary blocks: first line → last line (1-based)
---@field marks { line: integer, msg: table }[]  the heading line (1-based) of each message
---@field dim integer[][]  `{ first, last }` line ranges (1-based) of archived messages

--- The whole transcript. A summary is drawn where the messages it replaced were, as a
--- fold holding them; a summary that was undone stays where it was, archived.
--- `opts.streaming`: another process is writing the newest reply.
---@param messages table[]  oldest first, summaries included
---@param opts? { streaming?: boolean }
---@return string[] lines
---@return table<integer, integer> folds
---@return atmos.Rendered rendered
function M.render(messages, opts)
  local out = { lines = {}, folds = {}, marks = {}, dim = {} }
  local lines = out.lines
  local summaries = {}
  for _, m in ipairs(messages) do
    if m.isSummary then
      table.insert(summaries, m)
    end
  end
  --- The newest summary that replaced an archived message.
  local function owner(m)
    for i = #summaries, 1, -1 do
      if summaries[i] ~= m and covers(summaries[i], m.id) then
        return summaries[i]
      end
    end
  end
  local function add(list)
    vim.list_extend(lines, list)
  end
  local function message(msg, level, streaming)
    local first = #lines + 1
    table.insert(out.marks, { line = first, msg = msg })
    if msg.isSummary then
      add({ level .. " Summary · " .. util.short_time(msg.createdAt) .. " · archived", "" })
      add(M.split(msg.content))
      add({ "" })
    else
      add(M.message(msg, level, { streaming = streaming }))
    end
    if msg.archived then
      table.insert(out.dim, { first, #lines })
    end
  end
  local emitted = {}
  local function summary_block(s)
    emitted[s] = true
    local replaced = {}
    for _, m in ipairs(messages) do
      if m.archived and owner(m) == s then
        table.insert(replaced, m)
      end
    end
    local first = #lines + 1
    table.insert(out.marks, { line = first, msg = s })
    add({ M.summary_heading(s), "" })
    add(M.split(s.content))
    add({ "" })
    if s.archived then
      table.insert(out.dim, { first, #lines })
    end
    if #replaced > 0 then
      add({ ("_The %d archived message(s) it replaces:_"):format(#replaced), "" })
      for _, m in ipairs(replaced) do
        message(m, "###")
      end
    end
    out.folds[first] = #lines
  end
  for i, m in ipairs(messages) do
    local s = m.archived and owner(m)
    if s then
      if not emitted[s] then
        summary_block(s)
      end
    elseif m.isSummary then
      if not emitted[m] then
        summary_block(m)
      end
    else
      message(m, "##", is_streaming(messages, i, opts and opts.streaming))
    end
  end
  return lines, out.folds, out
end

--- The lines of the messages `from`..end when none of them is a summary or archived
--- (the tail of a transcript that grows), else nil: then only `render` draws them right.
---@param messages table[]
---@param from integer
---@param opts? { streaming?: boolean }
---@return atmos.Rendered?
function M.render_tail(messages, from, opts)
  local out = { lines = {}, folds = {}, marks = {}, dim = {} }
  for i = from, #messages do
    local m = messages[i]
    if m.isSummary or m.archived then
      return nil
    end
    table.insert(out.marks, { line = #out.lines + 1, msg = m })
    vim.list_extend(out.lines, M.message(m, "##", { streaming = is_streaming(messages, i, opts and opts.streaming) }))
  end
  return out
end

return M
