-- The init file of the Neovim the tests drive: the plugin from this checkout, and
-- vim.notify / vim.ui.select / vim.ui.input that a test can read and answer.
local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
vim.opt.rtp:prepend(vim.fs.dirname(here))
vim.o.swapfile = false
vim.o.columns = 160
vim.o.lines = 48
vim.cmd("runtime plugin/atmos.lua")

_G.test_notes = {}
vim.notify = function(msg, level)
  table.insert(_G.test_notes, { msg = msg, level = level or vim.log.levels.INFO })
end

-- Answers queued by the test, consumed in order. A select answer is a plain substring of
-- the wanted item as the picker formats it; an input answer is the text typed.
_G.test_answers = {}
_G.test_prompts = {}
vim.ui.select = function(items, opts, on_choice)
  local fmt = opts.format_item or tostring
  local shown = vim.tbl_map(fmt, items)
  table.insert(_G.test_prompts, { prompt = opts.prompt, items = shown })
  local answer = table.remove(_G.test_answers, 1)
  if answer == nil then
    return -- left open: the test reads _G.test_prompts
  end
  for i, text in ipairs(shown) do
    if text:find(answer, 1, true) then
      return on_choice(items[i], i)
    end
  end
  on_choice(nil, nil)
end
vim.ui.input = function(opts, on_confirm)
  table.insert(_G.test_prompts, { prompt = opts.prompt, default = opts.default })
  on_confirm(table.remove(_G.test_answers, 1))
end
