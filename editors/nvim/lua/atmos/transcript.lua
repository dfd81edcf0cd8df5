--- A transcript as markdown lines: pure functions of the server's messages, no IO.
local util = require("atmos.util")

local M = {}

---@param text string
---@return string[]
function M.split(text)
  return vim.split(text, "\n", { plain = true })
end

function M.heading(msg, level)
  local who = msg.role == "user" and "You" or "Assistant"
  local parts = { ("%s %s · %s"):format(level, who, util.short_time(msg.createdAt)) }
  if msg.archived then
    table.insert(parts, "archived")
  end
  if msg.interrupted then
    table.insert(parts, "interrupted")
  end
  return table.concat(parts, " · ")
end

--- Message ids are opaque strings, numeric in practice: compare as numbers when they are.
local function id_key(id)
  return tonumber(id) or id
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

--- The lines of the whole transcript, and the summary folds (1-based first → last line).
--- A summary is drawn where the messages it replaced were, as a fold holding them.
---@param messages table[]  oldest first, summaries included
---@return string[] lines
---@return table<integer, integer> folds
function M.render(messages)
  local lines, folds = {}, {}
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
  local function message(msg, level)
    if msg.isSummary then
      add({ level .. " Summary · " .. util.short_time(msg.createdAt) .. " · archived", "" })
    else
      add({ M.heading(msg, level), "" })
    end
    add(M.split(msg.content))
    add({ "" })
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
    local range = s.summaryRange or {}
    add({
      ("## Summary of messages %s–%s · %s"):format(range.from or "?", range.to or "?", util.short_time(s.createdAt)),
      "",
    })
    add(M.split(s.content))
    add({ "" })
    if #replaced > 0 then
      add({ ("_The %d archived message(s) it replaces:_"):format(#replaced), "" })
      for _, m in ipairs(replaced) do
        message(m, "###")
      end
    end
    folds[first] = #lines
  end
  for _, m in ipairs(messages) do
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
      message(m, "##")
    end
  end
  return lines, folds
end

return M
