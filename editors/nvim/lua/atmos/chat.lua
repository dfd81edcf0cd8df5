--- The chat split: a transcript buffer (`atmos://chat/<name>`, markdown) over a small input
--- buffer. Replies stream into the transcript from `atmos/chat/delta`; the winbar shows the
--- session, its title, provider, model, skill, a token estimate, what it used and cost.
--- Each message's heading carries an extmark, so commands find the message under the cursor.
local client = require("atmos.client")
local config = require("atmos.config")
local cost = require("atmos.cost")
local live = require("atmos.live")
local marks = require("atmos.marks")
local transcript = require("atmos.transcript")
local util = require("atmos.util")

local M = {}

local codes = client.errors

---@class atmos.Chat
---@field root string
---@field session table            the server's Session
---@field messages table[]         the whole transcript, oldest first (summaries included)
---@field buf integer              transcript buffer
---@field input integer            input buffer
---@field folds table<integer, boolean|integer>  summary blocks: first line → last line
---@field request? table           the running `atmos/chat` request
---@field token? string            its token, to tell its deltas apart
---@field reply_header? integer    0-based line of the streaming reply's heading
---@field reply_text string        what has streamed so far
---@field status? string           shown in the winbar (replying…, compacting…)
---@field deleted? boolean
---@field stopping? boolean      a stopped turn the server has not stored yet
---@field queued? table          `{ text, context }` sent once it has
---@field marks table<integer, table>  extmark id (on a heading) → its message
---@field loaded? boolean        the transcript was read once
---@field gen integer            bumped by every change from elsewhere (a reload started before re-reads)
---@field replying_elsewhere? boolean  another process holds the session's turn
---@field pending_reload? boolean  a change from elsewhere came during this chat's own turn
---@field live? string           the subscription: "pending", "on", "off" or "unsupported"

---@type atmos.Chat[]
local chats = {}
---@type atmos.Chat?
M.current = nil
local next_token = 0

--- The chat of a session, by root and session id.
---@return atmos.Chat?
local function find(root, id)
  for _, c in ipairs(chats) do
    if c.root == root and c.session.id == id then
      return c
    end
  end
end

---@param c atmos.Chat
local function alive(c)
  return vim.api.nvim_buf_is_valid(c.buf) and vim.api.nvim_buf_is_valid(c.input)
end

-- Folds: a summary and the messages it replaced form one closed fold.

--- Fold level of a line of a transcript buffer (the `foldexpr`).
---@param lnum integer
---@return string|integer
function M.foldexpr(lnum)
  local buf = vim.api.nvim_get_current_buf()
  for _, c in ipairs(chats) do
    if c.buf == buf then
      for first, last in pairs(c.folds) do
        if lnum == first then
          return ">1"
        elseif lnum > first and lnum <= last then
          return 1
        end
      end
      return 0
    end
  end
  return 0
end

--- The text a closed summary fold shows.
function M.foldtext()
  local line = vim.fn.getline(vim.v.foldstart)
  local n = vim.v.foldend - vim.v.foldstart
  return ("%s  (%d lines folded: zo opens)"):format(line, n)
end

-- The winbar.

---@param c atmos.Chat
local function estimate(c)
  local n = 0
  for _, m in ipairs(c.messages) do
    if not m.archived then
      n = n + util.tokens(m.content)
    end
  end
  return n
end

--- A session's name with its title next to it (cut when long): `vpc — How should I…`.
---@param s table
---@param width? integer  the title's most characters
---@return string
function M.name_and_title(s, width)
  local title = type(s.title) == "string" and vim.trim(s.title) or ""
  if title == "" then
    return s.name
  end
  width = width or 48
  if vim.fn.strchars(title) > width then
    title = vim.fn.strcharpart(title, 0, width - 1) .. "…"
  end
  return ("%s — %s"):format(s.name, title)
end

---@param c atmos.Chat
---@return string
function M.header(c)
  local s = c.session
  local parts = { M.name_and_title(s) }
  if c.deleted then
    table.insert(parts, "deleted")
  elseif c.status then
    table.insert(parts, c.status)
  elseif c.replying_elsewhere then
    table.insert(parts, "replying elsewhere…")
  end
  vim.list_extend(parts, {
    ("[%s] %s"):format(s.provider, s.model),
    "skill " .. s.skill,
    ("%d msgs"):format(s.messageCount or 0),
    ("~%d tokens"):format(estimate(c)),
  })
  vim.list_extend(parts, cost.parts(c.root, s))
  if type(s.forkedFrom) == "table" and s.forkedFrom.name then
    table.insert(parts, "forked from " .. s.forkedFrom.name)
  end
  return table.concat(parts, " · ")
end

---@param c atmos.Chat
local function windows(c)
  return vim.fn.win_findbuf(c.buf)
end

---@param c atmos.Chat
function M.update_header(c)
  if not alive(c) then
    return
  end
  local text = M.header(c)
  vim.b[c.buf].atmos_header = text
  -- `%<` last: a narrow window cuts the end of the line, never the session's name.
  local bar = "%#Title# " .. text:gsub("%%", "%%%%") .. " %<"
  for _, win in ipairs(windows(c)) do
    vim.wo[win].winbar = bar
  end
end

-- Writing to the transcript buffer.

---@param c atmos.Chat
---@param fn fun()
local function edit(c, fn)
  local follow = {}
  local last = vim.api.nvim_buf_line_count(c.buf)
  for _, win in ipairs(windows(c)) do
    if vim.api.nvim_win_get_cursor(win)[1] >= last then
      table.insert(follow, win)
    end
  end
  vim.bo[c.buf].modifiable = true
  fn()
  vim.bo[c.buf].modifiable = false
  vim.bo[c.buf].modified = false
  local new_last = vim.api.nvim_buf_line_count(c.buf)
  for _, win in ipairs(follow) do
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_set_cursor(win, { new_last, 0 })
    end
  end
end

--- Replaces a message (not archived, not a summary) by its new version from the server,
--- redrawing only its heading (as after a pin).
---@param c atmos.Chat
---@param msg table  the message as this chat has it
---@param new table
function M.replace_message(c, msg, new)
  for k in pairs(msg) do
    msg[k] = nil
  end
  for k, v in pairs(new) do
    msg[k] = v
  end
  local row = alive(c) and marks.row(c, msg)
  if row then
    edit(c, function()
      vim.api.nvim_buf_set_lines(c.buf, row, row + 1, false, { transcript.heading(msg, "##") })
      marks.drop(c, row, row)
      marks.mark(c, row, msg)
    end)
  end
  M.update_header(c)
end

---@param c atmos.Chat
local function redraw(c)
  if not alive(c) then
    return
  end
  local lines, folds, r = transcript.render(c.messages, { streaming = c.replying_elsewhere })
  c.folds = folds
  edit(c, function()
    marks.clear(c)
    vim.api.nvim_buf_set_lines(c.buf, 0, -1, false, lines)
    marks.place(c, r, 0)
  end)
  for _, win in ipairs(windows(c)) do
    vim.api.nvim_win_call(win, function()
      vim.cmd("silent! normal! zX")
    end)
  end
  M.update_header(c)
end

--- Redraws messages `from`..end only (they are new, or changed at the end), else all.
---@param c atmos.Chat
---@param from integer
local function redraw_from(c, from)
  if not alive(c) then
    return
  end
  local r = transcript.render_tail(c.messages, from, { streaming = c.replying_elsewhere })
  local row
  if r then
    local msg = c.messages[from]
    row = msg and marks.row(c, msg)
    if not row and from > 1 then
      -- New messages: after what is there (when the one before them is drawn).
      row = marks.row(c, c.messages[from - 1]) and vim.api.nvim_buf_line_count(c.buf)
    elseif not row then
      row = 0
    end
  end
  if not r or not row then
    return redraw(c)
  end
  edit(c, function()
    marks.drop(c, row)
    vim.api.nvim_buf_set_lines(c.buf, row, -1, false, r.lines)
    marks.place(c, r, row)
  end)
  M.update_header(c)
end

---@param c atmos.Chat
---@param lines string[]
local function append(c, lines)
  edit(c, function()
    local n = vim.api.nvim_buf_line_count(c.buf)
    local only_empty = n == 1 and vim.api.nvim_buf_get_lines(c.buf, 0, 1, false)[1] == ""
    vim.api.nvim_buf_set_lines(c.buf, only_empty and 0 or n, -1, false, lines)
  end)
end

--- Appends streamed text to the end of the reply being written.
---@param c atmos.Chat
---@param text string
local function append_text(c, text)
  c.reply_text = c.reply_text .. text
  edit(c, function()
    local n = vim.api.nvim_buf_line_count(c.buf)
    local lastline = vim.api.nvim_buf_get_lines(c.buf, n - 1, n, false)[1] or ""
    local pieces = transcript.split(text)
    pieces[1] = lastline .. pieces[1]
    vim.api.nvim_buf_set_lines(c.buf, n - 1, n, false, pieces)
  end)
end

---@param c atmos.Chat
---@param text string
local function set_reply_heading(c, text)
  if c.reply_header and alive(c) then
    edit(c, function()
      vim.api.nvim_buf_set_lines(c.buf, c.reply_header, c.reply_header + 1, false, { text })
    end)
  end
end

-- Loading.

--- Fetches the whole transcript, newest page first, then calls `cb(messages)`.
---@param root string
---@param session table
---@param cb fun(messages: table[])
local function load_all(root, session, cb)
  local pages = {}
  local function page(before)
    client.session_messages(
      root,
      { id = session.id, before = before, limit = config.options.page_size, includeSummaries = true },
      util.on_ok(function(res)
        table.insert(pages, 1, res.messages)
        if res.hasMore and #res.messages > 0 then
          page(res.messages[1].id)
        else
          cb(vim.iter(pages):flatten():totable())
        end
      end)
    )
  end
  page(nil)
end

--- Reloads a chat's session and transcript from the server.
---@param c atmos.Chat
---@param cb? fun()  runs once the transcript is redrawn
function M.reload(c, cb)
  local gen = c.gen
  c.pending_reload = false
  client.session_resume(
    c.root,
    { id = c.session.id, limit = 0 },
    util.on_ok(function(res)
      c.session = res.session
      load_all(c.root, c.session, function(messages)
        if c.request then
          return -- a turn started meanwhile: what it shows stays
        end
        if c.gen ~= gen then
          return M.reload(c, cb) -- changed elsewhere while reading: read again
        end
        c.messages = messages
        redraw(c)
        if cb then
          cb()
        end
      end)
    end)
  )
end

--- Refreshes only the session's counters and settings in the winbar.
---@param c atmos.Chat
function M.refresh_header(c)
  client.session_resume(c.root, { id = c.session.id, limit = 0 }, function(err, res)
    if not err then
      c.session = res.session
      M.update_header(c)
    end
  end)
end

--- After a turn of this chat: the session's counters, and the ids of the question and
--- reply just sent (the last two messages), so commands can find them under the cursor.
---@param c atmos.Chat
---@param user table  the question, as this chat drew it
local function after_turn(c, user)
  client.session_resume(c.root, { id = c.session.id, limit = 2 }, function(err, res)
    if err then
      return
    end
    c.session = res.session
    -- The newest question (pinned ones may come first): the one this chat sent.
    local same, last
    for _, m in ipairs(res.messages or {}) do
      if m.role == "user" and not m.isSummary then
        last = m
        same = m.content == user.content and m or same
      end
    end
    local stored = same or last
    if stored and user.id == nil then
      for k, v in pairs(stored) do
        user[k] = v
      end
    end
    M.update_header(c)
  end)
end

--- Applies what changed elsewhere during this chat's own turn, once it ended.
---@param c atmos.Chat
local function catch_up(c)
  if c.pending_reload then
    c.pending_reload = false
    M.reload(c)
    return true
  end
  return false
end

-- Windows.

local function map(buf, modes, lhs, fn, desc)
  if lhs and lhs ~= "" then
    vim.keymap.set(modes, lhs, fn, { buffer = buf, nowait = true, silent = true, desc = desc })
  end
end

---@param c atmos.Chat
local function buffer_name(c)
  return "atmos://chat/" .. c.session.name
end

---@param c atmos.Chat
local function create_buffers(c)
  c.buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(c.buf, buffer_name(c))
  vim.bo[c.buf].buftype = "nofile"
  vim.bo[c.buf].bufhidden = "hide"
  vim.bo[c.buf].swapfile = false
  vim.bo[c.buf].filetype = "markdown"
  vim.bo[c.buf].modifiable = false

  c.input = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(c.input, "atmos://input/" .. c.session.name)
  vim.bo[c.input].buftype = "nofile"
  vim.bo[c.input].bufhidden = "hide"
  vim.bo[c.input].swapfile = false
  vim.bo[c.input].filetype = "markdown"

  local keys = config.options.keymaps
  if keys then
    map(c.input, "n", keys.send, function()
      M.send_input(c)
    end, "Atmos: send the message")
    map(c.input, "i", keys.send_insert, function()
      M.send_input(c)
    end, "Atmos: send the message")
    for _, buf in ipairs({ c.input, c.buf }) do
      map(buf, { "n", "i" }, keys.cancel, function()
        M.cancel(c)
      end, "Atmos: stop the reply")
      map(buf, "n", keys.close, function()
        M.close(c)
      end, "Atmos: close the chat")
    end
    map(c.buf, "n", keys.pin, function()
      require("atmos.history").pin(c)
    end, "Atmos: pin or unpin the message under the cursor")
  end
  for _, buf in ipairs({ c.buf, c.input }) do
    vim.api.nvim_create_autocmd("BufEnter", {
      buffer = buf,
      callback = function()
        M.current = c
      end,
    })
  end
end

---@param c atmos.Chat
local function set_window_options(c, win)
  vim.wo[win].foldmethod = "expr"
  vim.wo[win].foldexpr = "v:lua.require'atmos.chat'.foldexpr(v:lnum)"
  vim.wo[win].foldtext = "v:lua.require'atmos.chat'.foldtext()"
  vim.wo[win].foldlevel = 0
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].conceallevel = 2
  M.update_header(c)
end

--- Shows a chat's windows (or focuses them when they are open) and puts the cursor in its input.
---@param c atmos.Chat
function M.show(c)
  local tw = windows(c)[1]
  local iw = vim.fn.win_findbuf(c.input)[1]
  if not tw then
    local layout = config.options.layout
    local width = config.options.width
    if width < 1 then
      width = math.floor(vim.o.columns * width)
    end
    if layout == "tab" then
      vim.cmd("tabnew")
    elseif layout == "below" then
      vim.cmd("botright split")
    else
      vim.cmd((layout == "left" and "topleft" or "botright") .. " vsplit")
      vim.cmd("vertical resize " .. width)
    end
    tw = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(tw, c.buf)
    set_window_options(c, tw)
    iw = nil
  end
  if not iw then
    vim.api.nvim_set_current_win(tw)
    vim.cmd("belowright split")
    iw = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(iw, c.input)
    vim.api.nvim_win_set_height(iw, config.options.input_height)
    local keys = config.options.keymaps
    local hint = keys and ("%s sends (normal), %s (insert) · %s stops"):format(keys.send, keys.send_insert, keys.cancel)
      or ""
    vim.wo[iw].winbar = "%#Comment# Message · " .. hint:gsub("%%", "%%%%")
    vim.wo[iw].number = false
    vim.wo[iw].relativenumber = false
    vim.wo[iw].winfixheight = true
  end
  local last = vim.api.nvim_buf_line_count(c.buf)
  vim.api.nvim_win_set_cursor(tw, { last, 0 })
  vim.api.nvim_set_current_win(iw)
  M.current = c
end

--- Closes a chat's windows; the chat stays and `:AtmosChat` brings it back.
---@param c atmos.Chat
function M.close(c)
  for _, win in ipairs(vim.list_extend(windows(c), vim.fn.win_findbuf(c.input))) do
    if #vim.api.nvim_list_wins() > 1 and vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_close(win, false)
    end
  end
end

--- Shows a chat that is already open, then `cb(c)`.
local function focus(c, cb)
  M.show(c)
  if cb then
    cb(c)
  end
end

--- Opens the chat of a session given by the server (after create or resume).
---@param root string
---@param session table
---@param cb? fun(c: atmos.Chat)
function M.open_session(root, session, cb)
  local c = find(root, session.id)
  if c and alive(c) then
    return focus(c, cb)
  end
  c = { root = root, session = session, messages = {}, folds = {}, reply_text = "", marks = {}, gen = 0 }
  table.insert(chats, c)
  create_buffers(c)
  live.attach(c)
  M.show(c)
  cost.load(root, function()
    for _, other in ipairs(chats) do
      if other.root == root then
        M.update_header(other)
      end
    end
  end)
  load_all(root, session, function(messages)
    c.messages = messages
    c.loaded = true
    redraw(c)
    live.subscribe(c)
    local tw = windows(c)[1]
    if tw then
      vim.api.nvim_win_set_cursor(tw, { vim.api.nvim_buf_line_count(c.buf), 0 })
    end
    if cb then
      cb(c)
    end
  end)
end

--- `:AtmosChat [name]`: opens (or focuses) the chat of a session, creating it when missing;
--- without a name, a new anonymous session.
---@param name? string
---@param cb? fun(c: atmos.Chat)
function M.open(name, cb)
  local root = M.root()
  if name then
    for _, c in ipairs(chats) do
      if c.root == root and c.session.name == name and alive(c) then
        return focus(c, cb)
      end
    end
    client.session_resume(
      root,
      { name = name, createIfMissing = true, limit = 0 },
      util.on_ok(function(res)
        M.announce_evicted(res.evicted)
        M.open_session(root, res.session, cb)
      end)
    )
  else
    client.session_create(
      root,
      vim.empty_dict(),
      util.on_ok(function(res)
        M.announce_evicted(res.evicted)
        M.open_session(root, res.session, cb)
      end)
    )
  end
end

--- Says what a compaction did.
---@param r table  a CompactionResult
function M.announce_compaction(r)
  util.notify(
    ("atmos: compacted %d message(s) into a summary, ~%d → ~%d tokens (archived, not deleted)"):format(
      #r.archivedIds,
      r.tokensBefore,
      r.tokensAfter
    )
  )
end

---@param evicted? string[]
function M.announce_evicted(evicted)
  if evicted and #evicted > 0 then
    util.notify(
      ("atmos: deleted the least recently used session(s) %s to stay within ai.sessions.max_sessions"):format(
        table.concat(evicted, ", ")
      ),
      vim.log.levels.WARN
    )
  end
end

-- Sending.

--- Sends a message in a chat, with optional context references.
---@param c atmos.Chat
---@param text string
---@param context? table[]
function M.send(c, text, context)
  if c.deleted then
    util.notify(("atmos: session '%s' was deleted: open another with :AtmosChat"):format(c.session.name), vim.log.levels.ERROR)
    return false
  end
  if c.request then
    util.notify("atmos: a reply is still streaming: wait for it, or stop it with :AtmosCancel", vim.log.levels.WARN)
    return false
  end
  if c.replying_elsewhere then
    util.notify(
      ("atmos: %s is replying elsewhere (another editor, the terminal chat or `atmos ai ask`): "
        .. "your message stays in the input; send it when the reply has arrived"):format(c.session.name),
      vim.log.levels.WARN
    )
    M.give_back(c, text)
    return false
  end
  if c.stopping then
    -- The server is still storing the stopped reply: send once it has (else it answers busy).
    c.queued = { text = text, context = context }
    return true
  end
  if vim.trim(text) == "" then
    util.notify("atmos: type a message first", vim.log.levels.WARN)
    return false
  end
  next_token = next_token + 1
  local token = "nvim-" .. next_token
  c.token = token
  c.reply_text = ""
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local user = { role = "user", content = text, createdAt = now }
  local user_lines = { transcript.heading(user, "##"), "" }
  for _, ref in ipairs(context or {}) do
    table.insert(user_lines, ("_Context (%s: %s)_"):format(ref.kind, ref.uri or "text"))
    table.insert(user_lines, "")
  end
  vim.list_extend(user_lines, transcript.split(text))
  vim.list_extend(user_lines, { "", "## Assistant · replying…", "", "" })
  local start = vim.api.nvim_buf_line_count(c.buf)
  local was_empty = start == 1 and vim.api.nvim_buf_get_lines(c.buf, 0, 1, false)[1] == ""
  append(c, user_lines)
  local first = was_empty and 0 or start
  c.reply_header = first + #user_lines - 3
  local reply = { role = "assistant" }
  marks.mark(c, first, user)
  marks.mark(c, c.reply_header, reply)
  c.status = "replying…"
  M.update_header(c)

  local params = { id = c.session.id, message = text, token = token }
  if context and #context > 0 then
    params.context = context
  end
  c.request = client.chat(c.root, params, function(err, res)
    if c.token ~= token then
      return
    end
    c.request = nil
    c.status = nil
    if err then
      M.turn_failed(c, err, text, first)
      return
    end
    for k, v in pairs(res.reply) do
      reply[k] = v
    end
    table.insert(c.messages, user)
    table.insert(c.messages, reply)
    set_reply_heading(c, transcript.heading(res.reply, "##"))
    if res.reply.content ~= c.reply_text then
      -- Deltas lost or not streamed: the stored reply is the truth.
      c.reply_text = ""
      edit(c, function()
        vim.api.nvim_buf_set_lines(c.buf, c.reply_header + 2, -1, false, transcript.split(res.reply.content))
        vim.api.nvim_buf_set_lines(c.buf, -1, -1, false, { "" })
      end)
    else
      append(c, { "" })
    end
    c.reply_header = nil
    if (res.redacted or 0) > 0 then
      util.notify(
        ("atmos: masked %d secret(s) before sending (ai.sessions.redact): the model and the history "
          .. "have [REDACTED] in their place"):format(res.redacted),
        vim.log.levels.WARN
      )
    end
    if res.compaction and res.compaction.compacted then
      M.announce_compaction(res.compaction)
      M.reload(c)
    elseif (res.redacted or 0) > 0 then
      M.reload(c) -- show the question as it was stored: masked
    elseif not catch_up(c) then
      after_turn(c, user)
    end
  end)
  return true
end

--- Puts a message that was not sent back into the input (unless something else is typed there).
---@param c atmos.Chat
---@param text string
function M.give_back(c, text)
  if alive(c) and vim.trim(table.concat(vim.api.nvim_buf_get_lines(c.input, 0, -1, false), "\n")) == "" then
    vim.api.nvim_buf_set_lines(c.input, 0, -1, false, transcript.split(text))
  end
end

--- Ends a reply that was cut off (stopped, or the provider failed): what arrived stays,
--- marked interrupted, as the server stores it; an empty reply's heading goes.
---@param c atmos.Chat
local function end_cut_reply(c)
  if c.reply_text ~= "" then
    set_reply_heading(c, "## Assistant · interrupted")
    append(c, { "" })
  else
    edit(c, function()
      vim.api.nvim_buf_set_lines(c.buf, c.reply_header, -1, false, {})
      marks.drop(c, c.reply_header)
    end)
  end
  c.reply_header = nil
end

--- A turn that failed: what the server stored stays on screen, the rest goes back into the input.
---@param c atmos.Chat
---@param err table
---@param text string
---@param first integer  0-based line where the turn's lines start
function M.turn_failed(c, err, text, first)
  util.report(err)
  local stored_user = err.code == codes.provider_error
  if stored_user then
    end_cut_reply(c)
    M.reload(c)
  else
    -- Nothing was stored (busy, missing key, sessions off, …): give the message back.
    edit(c, function()
      vim.api.nvim_buf_set_lines(c.buf, first, -1, false, {})
      marks.drop(c, first)
    end)
    c.reply_header = nil
    M.give_back(c, text)
    M.update_header(c)
    catch_up(c)
  end
end

--- Sends what the input buffer holds.
---@param c atmos.Chat
function M.send_input(c)
  local text = table.concat(vim.api.nvim_buf_get_lines(c.input, 0, -1, false), "\n")
  if M.send(c, text) then
    vim.api.nvim_buf_set_lines(c.input, 0, -1, false, {})
  end
end

--- Stops the reply that is streaming; the part that arrived stays, marked interrupted.
---@param c? atmos.Chat
function M.cancel(c)
  c = c or M.current
  if not c or not c.request then
    util.notify("atmos: no reply is streaming", vim.log.levels.INFO)
    return
  end
  client.cancel(c.request)
  c.request = nil
  -- Until the server says the stopped turn is stored (`sessions/changed` chat), the
  -- session is busy: a message sent meanwhile waits (at most 5 s) instead of failing.
  c.stopping = true
  vim.defer_fn(function()
    M.stopped_turn_stored(c)
  end, 5000)
  c.token = nil
  c.status = nil
  end_cut_reply(c)
  M.update_header(c)
  util.notify("atmos: reply stopped; what arrived is kept, marked interrupted")
end

--- The stopped turn is stored: show it as the server keeps it, then send what waited.
---@param c atmos.Chat
function M.stopped_turn_stored(c)
  if not c.stopping then
    return
  end
  c.stopping = false
  local queued = c.queued
  c.queued = nil
  M.reload(c, function()
    if queued then
      M.send(c, queued.text, queued.context)
    end
  end)
end

-- Changes made elsewhere (`atmos/session/updated`, see atmos.live).

--- The index in `c.messages` of the message with this id.
local function index_of(c, id)
  for i, m in ipairs(c.messages) do
    if m.id == id then
      return i
    end
  end
end

--- Applies what another process changed in a chat's session: new messages are added,
--- a message it shows is replaced (a reply streaming elsewhere grows), a rewritten
--- history is read again; the winbar says when another process is replying.
---@param c atmos.Chat
---@param p table  the notification's params
function M.apply_update(c, p)
  c.gen = c.gen + 1
  c.session = p.session or c.session
  local was = c.replying_elsewhere
  c.replying_elsewhere = p.replyingElsewhere == true
  if c.request or c.stopping then
    -- This chat's own turn is being drawn: catch up once it ends.
    c.pending_reload = c.pending_reload or p.reload or #(p.messages or {}) > 0
    M.update_header(c)
    return
  end
  if p.reload then
    M.update_header(c)
    M.reload(c)
    return
  end
  local from
  for _, m in ipairs(p.messages or {}) do
    local i = index_of(c, m.id)
    if i then
      -- In place: the heading's mark keeps pointing at it.
      local old = c.messages[i]
      for k in pairs(old) do
        old[k] = nil
      end
      for k, v in pairs(m) do
        old[k] = v
      end
    else
      table.insert(c.messages, m)
      i = #c.messages
    end
    from = math.min(from or i, i)
  end
  local last = c.messages[#c.messages]
  if was ~= c.replying_elsewhere and last and last.role == "assistant" then
    from = math.min(from or #c.messages, #c.messages) -- its heading says whether it is still coming
  end
  if from then
    redraw_from(c, from)
  else
    M.update_header(c)
  end
end

-- Server notifications.

client.on(client.notifications.chat_delta, function(p, root)
  for _, c in ipairs(chats) do
    if c.root == root and c.token ~= nil and c.token == p.token and c.request then
      append_text(c, p.text or "")
    end
  end
end)

client.on(client.notifications.compact_status, function(p, root)
  local c = find(root, p.sessionId)
  local name = c and c.session.name or "a session"
  if p.stage == "starting" then
    util.notify(("atmos: compacting %d message(s) of %s…"):format(p.messageCount or 0, name))
    if c then
      c.status = "compacting…"
      M.update_header(c)
    end
  elseif p.stage == "completed" then
    -- The result (of the turn or of :AtmosCompact) says what it saved.
    if c then
      c.status = c.request and "replying…" or nil
      M.update_header(c)
    end
  elseif p.stage == "failed" then
    util.notify(("atmos: compacting %s failed: %s"):format(name, p.error or "see :LspLog"), vim.log.levels.WARN)
    if c then
      c.status = nil
      M.update_header(c)
    end
  end
end)

client.on(client.notifications.sessions_changed, function(p, root)
  if p.reason == "evicted" then
    M.announce_evicted({ p.name })
  end
  for _, c in ipairs(chats) do
    if c.root == root and (c.session.id == p.sessionId or (p.reason == "evicted" and c.session.name == p.name)) then
      if p.reason == "deleted" or p.reason == "evicted" or p.reason == "cleaned" then
        c.deleted = true
        c.request = nil
        c.live = "off"
        c.replying_elsewhere = false
        M.update_header(c)
      elseif p.reason == "renamed" then
        c.session.name = p.name
        if alive(c) then
          pcall(vim.api.nvim_buf_set_name, c.buf, buffer_name(c))
          pcall(vim.api.nvim_buf_set_name, c.input, "atmos://input/" .. p.name)
        end
        M.update_header(c)
      elseif p.reason == "chat" and c.stopping then
        M.stopped_turn_stored(c)
      elseif (p.reason == "chat" or p.reason == "updated") and not c.request and not live.on(c) then
        -- (Subscribed, `atmos/session/updated` brings what other processes changed, and
        -- this chat draws what it changes itself.)
        M.reload(c)
      end
    end
  end
end)

--- The project root commands act on: the chat's own when run from a chat's buffer,
--- else the one of the current file (see `client.root`).
---@return string
function M.root()
  local buf = vim.api.nvim_get_current_buf()
  for _, c in ipairs(chats) do
    if c.buf == buf or c.input == buf then
      return c.root
    end
  end
  return client.root()
end

--- The chats open in this Neovim (for tests and statuslines).
---@return atmos.Chat[]
function M.list()
  return chats
end

return M
