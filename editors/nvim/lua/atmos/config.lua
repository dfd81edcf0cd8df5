--- The plugin's options: defaults, merged with what `setup()` is given, and checked.
local M = {}

---@class atmos.Keymaps
---@field send string       normal mode, in the input buffer
---@field send_insert string insert mode, in the input buffer
---@field cancel string     normal and insert mode, in the input and transcript buffers
---@field close string      normal mode, in the input and transcript buffers
---@field pin string        normal mode, in the transcript: pin or unpin the message under the cursor

---@class atmos.Config
---@field cmd string[]           how to start the server
---@field config_path? string    an atmos.yaml to use instead of the nearest one
---@field keymaps atmos.Keymaps|false
---@field layout "right"|"left"|"below"|"tab"
---@field width number           columns of a side split (a fraction of the screen when < 1)
---@field input_height integer   lines of the input window
---@field page_size integer      messages fetched per page when a transcript opens

---@type atmos.Config
M.defaults = {
  cmd = { "atmos", "ai", "serve" },
  config_path = nil,
  keymaps = {
    send = "<CR>",
    send_insert = "<C-s>",
    cancel = "<C-c>",
    close = "q",
    pin = "gp",
  },
  layout = "right",
  width = 0.4,
  input_height = 5,
  page_size = 200,
}

---@type atmos.Config
M.options = vim.deepcopy(M.defaults)

--- Merges `opts` over the defaults; a bad option is reported and its default kept.
---@param opts? table
function M.setup(opts)
  opts = opts or {}
  local merged = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts)
  if opts.keymaps == false then
    merged.keymaps = false
  end
  local problems = {}
  local function check(key, ok, rule)
    if not ok then
      table.insert(problems, ("atmos.setup: %s %s; using the default"):format(key, rule))
      merged[key] = vim.deepcopy(M.defaults[key])
    end
  end
  check("cmd", type(merged.cmd) == "table" and type(merged.cmd[1]) == "string", "must be a list like { 'atmos', 'ai', 'serve' }")
  check("config_path", merged.config_path == nil or type(merged.config_path) == "string", "must be a path or nil")
  check("layout", vim.tbl_contains({ "right", "left", "below", "tab" }, merged.layout), "must be right, left, below or tab")
  check("width", type(merged.width) == "number" and merged.width > 0, "must be a positive number")
  check("input_height", type(merged.input_height) == "number" and merged.input_height >= 1, "must be at least 1")
  check("page_size", type(merged.page_size) == "number" and merged.page_size >= 1, "must be at least 1")
  check("keymaps", merged.keymaps == false or type(merged.keymaps) == "table", "must be a table or false")
  M.options = merged
  for _, p in ipairs(problems) do
    vim.notify(p, vim.log.levels.WARN, { title = "atmos" })
  end
end

return M
