--- Where each message is in a transcript buffer: an extmark on its heading line, mapped to
--- the message (so commands find the message under the cursor, and a message that changes
--- is redrawn where it is), and the dimming of archived messages.
local M = {}

local ns = vim.api.nvim_create_namespace("atmos.messages")
local ns_dim = vim.api.nvim_create_namespace("atmos.archived")
vim.api.nvim_set_hl(0, "AtmosArchived", { default = true, link = "Comment" })

--- Forgets every mark of a chat (its buffer is about to be rewritten).
---@param c atmos.Chat
function M.clear(c)
  vim.api.nvim_buf_clear_namespace(c.buf, ns, 0, -1)
  vim.api.nvim_buf_clear_namespace(c.buf, ns_dim, 0, -1)
  c.marks = {}
end

--- Marks the heading at `row0` as the one of `msg`.
---@param c atmos.Chat
---@param row0 integer
---@param msg table
---@return integer id
function M.mark(c, row0, msg)
  local id = vim.api.nvim_buf_set_extmark(c.buf, ns, row0, 0, {})
  c.marks[id] = msg
  return id
end

--- Marks the headings (and dims the archived messages) of lines just written from `row0`.
---@param c atmos.Chat
---@param r atmos.Rendered
---@param row0 integer  0-based line where `r.lines[1]` was written
function M.place(c, r, row0)
  for _, m in ipairs(r.marks) do
    M.mark(c, row0 + m.line - 1, m.msg)
  end
  for _, d in ipairs(r.dim) do
    vim.api.nvim_buf_set_extmark(c.buf, ns_dim, row0 + d[1] - 1, 0, {
      end_row = row0 + d[2] - 1,
      end_col = 0,
      hl_group = "AtmosArchived",
      hl_eol = true,
      priority = 300, -- over treesitter's markdown highlights
    })
  end
end

--- Forgets the marks from 0-based line `row0` to line `last` (default: the end), as
--- before those lines are rewritten or after they were deleted.
---@param c atmos.Chat
---@param row0 integer
---@param last? integer
function M.drop(c, row0, last)
  local stop = last and { last, -1 } or -1
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(c.buf, ns, { row0, 0 }, stop, {})) do
    vim.api.nvim_buf_del_extmark(c.buf, ns, m[1])
    c.marks[m[1]] = nil
  end
  if not last then
    vim.api.nvim_buf_clear_namespace(c.buf, ns_dim, row0, -1)
  end
end

--- The message whose heading is at or above 0-based line `row0`, with its heading's line.
---@param c atmos.Chat
---@param row0 integer
---@return table? msg
---@return integer? row
function M.message_at(c, row0)
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(c.buf, ns, { row0, -1 }, 0, {})) do
    local msg = c.marks[m[1]]
    if msg then
      return msg, m[2]
    end
  end
end

--- The 0-based line of a message's heading, or nil.
---@param c atmos.Chat
---@param msg table
---@return integer?
function M.row(c, msg)
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(c.buf, ns, 0, -1, {})) do
    if c.marks[m[1]] == msg then
      return m[2]
    end
  end
end

return M
