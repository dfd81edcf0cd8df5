--- Pickers through `vim.ui.select` (telescope, fzf-lua and snacks users get theirs):
--- sessions and their actions, search, skills, providers and models, clean.
local chat = require("atmos.chat")
local client = require("atmos.client")
local cost = require("atmos.cost")
local util = require("atmos.util")

local M = {}

--- One picker line for a session: name and title, provider badge, creation date, message count.
---@param s table
---@return string
function M.format_session(s)
  local line = ("%s  [%s]  %s  %d msgs"):format(
    chat.name_and_title(s, 60),
    s.provider,
    util.short_time(s.createdAt):sub(1, 10),
    s.messageCount
  )
  if s.snippet then
    line = line .. "  — " .. s.snippet:gsub("\n", " ")
  end
  return line
end

--- Asks a yes/no question; `cb()` runs on yes.
---@param question string
---@param yes string  the label of the yes choice, as "Delete"
---@param cb fun()
function M.confirm(question, yes, cb)
  vim.ui.select({ yes, "Cancel" }, { prompt = question }, function(choice)
    if choice == yes then
      cb()
    end
  end)
end

---@param root string
---@param s table  a Session
local function export(root, s, format)
  client.session_export(
    root,
    { id = s.id, format = format },
    util.on_ok(function(res)
      local ext = format == "markdown" and "md" or format
      vim.cmd("tabnew")
      local buf = vim.api.nvim_get_current_buf()
      vim.bo[buf].buftype = "nofile"
      vim.bo[buf].bufhidden = "wipe"
      pcall(vim.api.nvim_buf_set_name, buf, ("atmos://export/%s.%s"):format(s.name, ext))
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(res.content, "\n", { plain = true }))
      vim.bo[buf].filetype = format
      vim.bo[buf].modified = false
    end)
  )
end

--- Renames a session after asking for the new name.
---@param root string
---@param s table
function M.rename(root, s, new)
  local function go(name)
    if not name or vim.trim(name) == "" or name == s.name then
      return
    end
    client.session_rename(
      root,
      { id = s.id, newName = name },
      util.on_ok(function(res)
        util.notify(("atmos: renamed %s to %s"):format(s.name, res.name))
      end)
    )
  end
  if new then
    go(new)
  else
    vim.ui.input({ prompt = "New name: ", default = s.name }, go)
  end
end

--- Deletes a session after a confirmation (unless `force`).
---@param root string
---@param s table
---@param force? boolean
function M.delete(root, s, force)
  local function go()
    client.session_delete(
      root,
      { id = s.id },
      util.on_ok(function()
        util.notify(("atmos: deleted session %s"):format(s.name))
      end)
    )
  end
  if force then
    go()
  else
    M.confirm(("Delete session '%s' and its %d messages? This cannot be undone."):format(s.name, s.messageCount or 0), "Delete", go)
  end
end

M.actions = { "Open", "Rename", "Delete", "Export as JSON", "Export as YAML", "Export as Markdown" }

--- What to do with a picked session.
---@param root string
---@param s table
function M.act(root, s)
  vim.ui.select(M.actions, { prompt = "Session " .. s.name }, function(action)
    if action == "Open" then
      chat.open_session(root, s)
    elseif action == "Rename" then
      M.rename(root, s)
    elseif action == "Delete" then
      M.delete(root, s)
    elseif action == "Export as JSON" then
      export(root, s, "json")
    elseif action == "Export as YAML" then
      export(root, s, "yaml")
    elseif action == "Export as Markdown" then
      export(root, s, "markdown")
    end
  end)
end

--- `:AtmosSessions`: every session, most recently used first; then an action.
function M.pick()
  local root = chat.root()
  client.session_list(
    root,
    vim.empty_dict(),
    util.on_ok(function(res)
      if #res.sessions == 0 then
        util.notify("atmos: no sessions yet: start one with :AtmosChat")
        return
      end
      vim.ui.select(res.sessions, {
        prompt = ("Atmos sessions (%d)"):format(res.total),
        format_item = M.format_session,
        kind = "atmos_session",
      }, function(s)
        if s then
          M.act(root, s)
        end
      end)
    end)
  )
end

--- `:AtmosSearch {text}`: sessions whose names or messages match, with the snippet; opens the one picked.
---@param text string
function M.search(text)
  local root = chat.root()
  client.session_list(
    root,
    { query = text },
    util.on_ok(function(res)
      if #res.sessions == 0 then
        util.notify(("atmos: no session mentions %q"):format(text))
        return
      end
      vim.ui.select(res.sessions, {
        prompt = ("Sessions matching %q"):format(text),
        format_item = M.format_session,
        kind = "atmos_session",
      }, function(s)
        if s then
          chat.open_session(root, s)
        end
      end)
    end)
  )
end

--- `:AtmosClean {duration}`: deletes the sessions idle longer than that, after saying which.
---@param older_than string
---@param force? boolean
function M.clean(older_than, force)
  local root = chat.root()
  client.session_clean(
    root,
    { olderThan = older_than, dryRun = true },
    util.on_ok(function(dry)
      if dry.count == 0 then
        util.notify(("atmos: no session has been idle longer than %s"):format(older_than))
        return
      end
      local function go()
        client.session_clean(
          root,
          { olderThan = older_than },
          util.on_ok(function(res)
            util.notify(("atmos: deleted %d session(s): %s"):format(res.count, table.concat(res.deleted, ", ")))
          end)
        )
      end
      if force then
        go()
      else
        M.confirm(
          ("Delete %d session(s) idle longer than %s: %s?"):format(dry.count, older_than, table.concat(dry.deleted, ", ")),
          "Delete",
          go
        )
      end
    end)
  )
end

--- Saves settings on a chat's session (`atmos/session/update`), then says so.
---@param c atmos.Chat
---@param changes table
---@param said fun(session: table): string
local function update(c, changes, said)
  client.session_update(
    c.root,
    vim.tbl_extend("force", { id = c.session.id }, changes),
    util.on_ok(function(session)
      c.session = session
      chat.update_header(c)
      util.notify(said(session))
    end)
  )
end

--- `:AtmosTitle {text}`: sets the title shown next to a chat's session name ("" clears it).
---@param c atmos.Chat
---@param title string
function M.set_title(c, title)
  title = vim.trim(title)
  update(c, { title = title }, function(session)
    if title == "" then
      return ("atmos: %s has no title now"):format(session.name)
    end
    return ("atmos: %s is titled %q"):format(session.name, session.title or title)
  end)
end

--- `:AtmosBackup [path]`: a consistent copy of the whole sessions database (while chats
--- and servers run); without a path, to .atmos/sessions/sessions.db.backup.
---@param path? string
function M.backup(path)
  local root = chat.root()
  local params = vim.empty_dict()
  if path and vim.trim(path) ~= "" then
    params = { path = vim.fn.fnamemodify(vim.fn.expand(vim.trim(path)), ":p") }
  end
  client.backup(
    root,
    params,
    util.on_ok(function(res)
      util.notify(("atmos: backed up the sessions database to %s (%d bytes)"):format(res.path, res.bytes or 0))
    end)
  )
end

--- `:AtmosSkill`: picks a skill for a chat's session, saved at once.
---@param c atmos.Chat
function M.pick_skill(c)
  client.skills_list(
    c.root,
    vim.empty_dict(),
    util.on_ok(function(res)
      vim.ui.select(res.skills, {
        prompt = "Skill for " .. c.session.name,
        format_item = function(s)
          local mark = s.name == c.session.skill and "● " or "  "
          return ("%s%s — %s"):format(mark, s.displayName or s.name, s.description or "")
        end,
        kind = "atmos_skill",
      }, function(s)
        if s then
          update(c, { skill = s.name }, function(session)
            return ("atmos: %s now uses the %s skill"):format(session.name, session.skill)
          end)
        end
      end)
    end)
  )
end

--- `:AtmosModel`: picks a provider (showing which have credentials), then its model.
---@param c atmos.Chat
function M.pick_model(c)
  client.providers_list(
    c.root,
    vim.empty_dict(),
    util.on_ok(function(res)
      cost.remember(c.root, res.providers)
      vim.ui.select(res.providers, {
        prompt = "Provider for " .. c.session.name,
        format_item = function(p)
          local state = p.configured and "ready" or ("not configured: " .. (p.reason or ""))
          local mark = p.name == c.session.provider and "● " or "  "
          return ("%s%s  %s  (%s)"):format(mark, p.name, p.model, state)
        end,
        kind = "atmos_provider",
      }, function(p)
        if not p then
          return
        end
        if not p.configured then
          util.notify(("atmos: %s is not configured: %s"):format(p.name, p.reason or ""), vim.log.levels.WARN)
          return
        end
        local default = p.name == c.session.provider and c.session.model or p.model
        vim.ui.input({ prompt = ("Model for %s: "):format(p.name), default = default }, function(model)
          if not model or vim.trim(model) == "" then
            return
          end
          update(c, { provider = p.name, model = vim.trim(model) }, function(session)
            return ("atmos: %s now talks to %s (%s)"):format(session.name, session.provider, session.model)
          end)
        end)
      end)
    end)
  )
end

--- Session names for command-line completion (from the running server, else none).
---@param lead string
---@return string[]
function M.complete_names(lead)
  local root = chat.root()
  if not vim.tbl_contains(client.roots(), root) then
    return {}
  end
  local res = client.request_sync(root, client.methods.session_list, vim.empty_dict(), 1000)
  local out = {}
  for _, s in ipairs(res and res.sessions or {}) do
    if vim.startswith(s.name, lead) then
      table.insert(out, s.name)
    end
  end
  return out
end

return M
