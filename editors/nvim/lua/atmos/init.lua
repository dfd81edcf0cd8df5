--- atmos.nvim: persistent AI chat sessions for infrastructure work, from `atmos ai serve`.
--- The public Lua API; `:help atmos` documents it.
local M = {}

local function chat()
  return require("atmos.chat")
end
local function sessions()
  return require("atmos.sessions")
end
local function util()
  return require("atmos.util")
end

--- Sets the plugin's options (optional: every option has a default).
---@param opts? atmos.Config
function M.setup(opts)
  require("atmos.config").setup(opts)
end

--- Opens (or focuses) the chat of the session `name`, created when missing; without a name,
--- a new anonymous session. `cb(chat)` runs once it is shown.
---@param name? string
---@param cb? fun(c: atmos.Chat)
function M.chat(name, cb)
  chat().open(name, cb)
end

--- The chat commands act on: the one last used.
---@return atmos.Chat?
local function current(quiet)
  local c = chat().current
  if not c and not quiet then
    util().notify("atmos: no chat is open: start one with :AtmosChat [name]", vim.log.levels.WARN)
  end
  return c
end

--- A `selection` context reference for lines `l1`..`l2` (1-based, inclusive) of a buffer.
---@param bufnr integer
---@param l1 integer
---@param l2 integer
---@return table
function M.selection(bufnr, l1, l2)
  local lines = vim.api.nvim_buf_get_lines(bufnr, l1 - 1, l2, false)
  local name = vim.api.nvim_buf_get_name(bufnr)
  return {
    kind = "selection",
    uri = name ~= "" and vim.uri_from_fname(name) or nil,
    range = { start = { line = l1 - 1, character = 0 }, ["end"] = { line = l2, character = 0 } },
    text = table.concat(lines, "\n"),
  }
end

--- Sends `text` to the current chat (opening a new one when there is none).
--- `opts.range = { l1, l2 }` sends those lines of the current buffer along as a selection;
--- `opts.context` gives context references directly.
---@param text string
---@param opts? { range?: integer[], context?: table[], bufnr?: integer }
function M.ask(text, opts)
  opts = opts or {}
  local context = opts.context or {}
  if opts.range then
    table.insert(context, M.selection(opts.bufnr or vim.api.nvim_get_current_buf(), opts.range[1], opts.range[2]))
  end
  local function go(c)
    chat().send(c, text, context)
  end
  local c = current(true)
  if c and not c.deleted and vim.api.nvim_buf_is_valid(c.buf) then
    chat().show(c)
    go(c)
  else
    chat().open(nil, go)
  end
end

--- Opens the sessions picker.
function M.sessions()
  sessions().pick()
end

--- Lists the sessions matching `text` (names and message text) and opens the one picked.
---@param text string
function M.search(text)
  sessions().search(text)
end

--- Creates a session (anonymous without a name) and opens its chat.
---@param name? string
function M.new(name)
  local client = require("atmos.client")
  local root = chat().root()
  client.session_create(
    root,
    name and { name = name } or vim.empty_dict(),
    util().on_ok(function(res)
      chat().announce_evicted(res.evicted)
      chat().open_session(root, res.session)
    end)
  )
end

--- Renames the current session.
---@param new string
function M.rename(new)
  local c = current()
  if c then
    sessions().rename(c.root, c.session, new)
  end
end

--- Deletes the current session (after a confirmation unless `opts.force`).
---@param opts? { force?: boolean }
function M.delete(opts)
  local c = current()
  if c then
    sessions().delete(c.root, c.session, opts and opts.force)
  end
end

--- Deletes the sessions idle longer than `older_than` (as 30d), after a confirmation unless `opts.force`.
---@param older_than string
---@param opts? { force?: boolean }
function M.clean(older_than, opts)
  sessions().clean(older_than, opts and opts.force)
end

--- Picks the current session's skill.
function M.pick_skill()
  local c = current()
  if c then
    sessions().pick_skill(c)
  end
end

--- Picks the current session's provider and model.
function M.pick_model()
  local c = current()
  if c then
    sessions().pick_model(c)
  end
end

--- Summarises the oldest messages of the current session now.
function M.compact()
  local c = current()
  if not c then
    return
  end
  local client = require("atmos.client")
  client.session_compact(
    c.root,
    { id = c.session.id },
    util().on_ok(function(res)
      if res.compacted then
        chat().announce_compaction(res)
        chat().reload(c)
      else
        util().notify("atmos: nothing to compact yet: the newest messages are always kept verbatim, "
            .. "and older ones only when a summary is shorter")
      end
    end)
  )
end

--- Stops the reply streaming in the current chat.
function M.cancel()
  chat().cancel(current(true))
end

local function history()
  return require("atmos.history")
end

--- Forks the current session at the message under the cursor (or its newest) into a new
--- session (`new_name`, or NAME-fork), and opens its chat.
---@param new_name? string
function M.fork(new_name)
  local c = current()
  if c then
    history().fork(c, new_name)
  end
end

--- Pins the message under the cursor (or the newest), or unpins it: `pinned` nil toggles.
---@param pinned? boolean
function M.pin(pinned)
  local c = current()
  if c then
    history().pin(c, pinned)
  end
end

--- Undoes the compaction of the summary under the cursor, else of the live summary.
function M.uncompact()
  local c = current()
  if c then
    history().uncompact(c)
  end
end

--- Sets the current session's title ("" clears it).
---@param title string
function M.title(title)
  local c = current()
  if c then
    sessions().set_title(c, title)
  end
end

--- Backs the whole sessions database up (to `path`, else .atmos/sessions/sessions.db.backup).
---@param path? string
function M.backup(path)
  sessions().backup(path)
end

return M
