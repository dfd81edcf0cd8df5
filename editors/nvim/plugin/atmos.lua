-- atmos.nvim: persistent AI chat sessions from `atmos ai serve`.
-- This file only guards loading and defines the commands; everything else is
-- required lazily from lua/atmos/ the first time a command runs.
if vim.g.loaded_atmos == 1 then
  return
end
vim.g.loaded_atmos = 1

local function atmos()
  return require("atmos")
end

local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, fn, opts)
end

local function complete_sessions(arg_lead)
  return require("atmos.sessions").complete_names(arg_lead)
end

cmd("AtmosChat", function(o)
  atmos().chat(o.args ~= "" and o.args or nil)
end, { nargs = "?", complete = complete_sessions, desc = "Atmos: open (or create) the chat for a session" })

cmd("AtmosAsk", function(o)
  local opts = {}
  if o.range > 0 then
    opts.range = { o.line1, o.line2 }
  end
  atmos().ask(o.args, opts)
end, { nargs = "+", range = true, desc = "Atmos: ask in the current chat (with a range: the lines go along)" })

cmd("AtmosSessions", function()
  atmos().sessions()
end, { nargs = 0, desc = "Atmos: pick a session, then open, rename, delete or export it" })

cmd("AtmosSearch", function(o)
  atmos().search(o.args)
end, { nargs = "+", desc = "Atmos: find sessions by name or message text" })

cmd("AtmosNew", function(o)
  atmos().new(o.args ~= "" and o.args or nil)
end, { nargs = "?", desc = "Atmos: a new session (anonymous without a name)" })

cmd("AtmosRename", function(o)
  atmos().rename(o.args)
end, { nargs = 1, desc = "Atmos: rename the current session" })

cmd("AtmosDelete", function(o)
  atmos().delete({ force = o.bang })
end, { nargs = 0, bang = true, desc = "Atmos: delete the current session (! skips the confirmation)" })

cmd("AtmosClean", function(o)
  atmos().clean(o.args, { force = o.bang })
end, { nargs = 1, bang = true, desc = "Atmos: delete sessions idle longer than a duration, as in 30d (! skips the confirmation)" })

cmd("AtmosSkill", function()
  atmos().pick_skill()
end, { nargs = 0, desc = "Atmos: switch the current session's skill" })

cmd("AtmosModel", function()
  atmos().pick_model()
end, { nargs = 0, desc = "Atmos: switch the current session's provider and model" })

cmd("AtmosCompact", function()
  atmos().compact()
end, { nargs = 0, desc = "Atmos: summarise the oldest messages of the current session now" })

cmd("AtmosCancel", function()
  atmos().cancel()
end, { nargs = 0, desc = "Atmos: stop the reply that is streaming" })

cmd("AtmosFork", function(o)
  atmos().fork(o.args ~= "" and o.args or nil)
end, { nargs = "?", desc = "Atmos: fork the session at the message under the cursor (or the newest) and open the fork" })

cmd("AtmosPin", function(o)
  atmos().pin(o.bang and false or nil)
end, { nargs = 0, bang = true, desc = "Atmos: pin or unpin the message under the cursor (! unpins)" })

cmd("AtmosUncompact", function()
  atmos().uncompact()
end, { nargs = 0, desc = "Atmos: undo a compaction: the messages its summary replaced are sent again" })

cmd("AtmosTitle", function(o)
  if o.bang then
    return atmos().title("")
  end
  if o.args ~= "" then
    return atmos().title(o.args)
  end
  local c = require("atmos.chat").current
  if not c then
    return atmos().title("") -- says that no chat is open
  end
  vim.ui.input({ prompt = "Title: ", default = c.session.title or "" }, function(text)
    if text then
      atmos().title(text)
    end
  end)
end, { nargs = "?", bang = true, desc = "Atmos: set the current session's title (! clears it)" })

cmd("AtmosBackup", function(o)
  atmos().backup(o.args ~= "" and o.args or nil)
end, { nargs = "?", complete = "file", desc = "Atmos: back up the sessions database (default .atmos/sessions/sessions.db.backup)" })
