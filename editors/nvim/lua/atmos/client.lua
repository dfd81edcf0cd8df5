--- The connection to `atmos ai serve`: one server per project root, started on first use
--- through Neovim's LSP client and stopped with Neovim. One function per server method;
--- the method and notification names are the constants below (docs/protocol.md).
local config = require("atmos.config")

local M = {}

--- Requests of docs/protocol.md.
M.methods = {
  session_create = "atmos/session/create",
  session_resume = "atmos/session/resume",
  session_messages = "atmos/session/messages",
  session_list = "atmos/session/list",
  session_rename = "atmos/session/rename",
  session_update = "atmos/session/update",
  session_delete = "atmos/session/delete",
  session_clean = "atmos/session/clean",
  session_export = "atmos/session/export",
  session_import = "atmos/session/import",
  session_compact = "atmos/session/compact",
  session_fork = "atmos/session/fork",
  session_uncompact = "atmos/session/uncompact",
  session_pin = "atmos/session/pin",
  session_subscribe = "atmos/session/subscribe",
  session_unsubscribe = "atmos/session/unsubscribe",
  chat = "atmos/chat",
  providers_list = "atmos/providers/list",
  skills_list = "atmos/skills/list",
  status = "atmos/status",
  backup = "atmos/backup",
}

--- Notifications the server sends.
M.notifications = {
  chat_delta = "atmos/chat/delta",
  compact_status = "atmos/compact/status",
  sessions_changed = "atmos/sessions/changed",
  session_updated = "atmos/session/updated",
}

--- `error.code` values of docs/protocol.md.
M.errors = {
  method_not_found = -32601,
  invalid_params = -32602,
  request_cancelled = -32800,
  session_not_found = 1001,
  session_exists = 1002,
  invalid_name = 1003,
  sessions_disabled = 1004,
  provider_error = 1005,
  provider_not_configured = 1006,
  storage_error = 1007,
  invalid_duration = 1008,
  busy = 1009,
  config_invalid = 1010,
  invalid_import = 1011,
}

local has_011 = vim.fn.has("nvim-0.11") == 1

--- Calls a method of a `vim.lsp.Client` the way this Neovim wants it (0.10: `client.f(...)`).
local function call(client, name, ...)
  if has_011 then
    return client[name](client, ...)
  end
  return client[name](...)
end

---@class atmos.Server
---@field root string
---@field client_id integer
---@field ready boolean
---@field queue function[]  requests written before `initialize` was answered

---@type table<string, atmos.Server>
local servers = {}

---@type table<string, fun(params: table, root: string)[]>
local listeners = {}

--- Subscribes to a server notification (a name from `M.notifications`).
---@param notification string
---@param fn fun(params: table, root: string)
function M.on(notification, fn)
  listeners[notification] = listeners[notification] or {}
  table.insert(listeners[notification], fn)
end

local function emit(notification, params, root)
  for _, fn in ipairs(listeners[notification] or {}) do
    local ok, err = pcall(fn, params, root)
    if not ok then
      vim.notify("atmos: " .. tostring(err), vim.log.levels.ERROR, { title = "atmos" })
    end
  end
end

--- The project root for a buffer: the nearest folder with an atmos.yaml above its file
--- (or above the working directory for a buffer without a file), else the working directory.
---@param bufnr? integer
---@return string
function M.root(bufnr)
  bufnr = bufnr or 0
  local name = vim.api.nvim_buf_get_name(bufnr)
  local start = (name ~= "" and not name:match("^%a+://")) and vim.fs.dirname(name) or vim.fn.getcwd()
  local found = vim.fs.find("atmos.yaml", { upward = true, path = start, type = "file" })[1]
  return found and vim.fs.dirname(found) or vim.fn.getcwd()
end

--- Why the server cannot be started, or nil.
---@return string?
function M.missing_binary()
  local exe = config.options.cmd[1]
  if vim.fn.executable(exe) == 1 then
    return nil
  end
  return ("atmos: cannot start the server: '%s' is not an executable on PATH. Install it with "
    .. "`cargo install --path cli` in the atmos-ai repository, or set `cmd` in require('atmos').setup()"):format(exe)
end

local function notification_handler(name)
  return function(_, params, ctx)
    local server
    for _, s in pairs(servers) do
      if s.client_id == ctx.client_id then
        server = s
      end
    end
    vim.schedule(function()
      emit(name, params or {}, server and server.root or "")
    end)
  end
end

--- The running server of `root`, started when there is none.
---@param root string
---@return atmos.Server? server
---@return string? err
function M.server(root)
  local s = servers[root]
  if s then
    local client = vim.lsp.get_client_by_id(s.client_id)
    if client and not (client.is_stopped and call(client, "is_stopped")) then
      return s
    end
    servers[root] = nil
  end
  local missing = M.missing_binary()
  if missing then
    return nil, missing
  end
  local handlers = {}
  for _, name in pairs(M.notifications) do
    handlers[name] = notification_handler(name)
  end
  s = { root = root, ready = false, queue = {} }
  local cfg = {
    name = "atmos",
    cmd = config.options.cmd,
    cmd_cwd = root,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fs.basename(root) } },
    init_options = { configPath = config.options.config_path, clientName = "neovim" },
    handlers = handlers,
    on_init = function()
      s.ready = true
      local queued = s.queue
      s.queue = {}
      for _, fn in ipairs(queued) do
        fn()
      end
    end,
    on_exit = function(code, signal)
      vim.schedule(function()
        if servers[root] == s then
          servers[root] = nil
        end
        local exiting = vim.v.exiting ~= vim.NIL and vim.v.exiting ~= nil
        if code ~= 0 and signal == 0 and not s.stopping and not exiting then
          vim.notify(
            ("atmos: the server for %s stopped (exit %d): see :LspLog, or run `atmos ai serve` there to see why"):format(
              root,
              code
            ),
            vim.log.levels.ERROR,
            { title = "atmos" }
          )
        end
      end)
    end,
  }
  local id
  if has_011 then
    id = vim.lsp.start(cfg, { attach = false })
  else
    id = vim.lsp.start_client(cfg)
  end
  if not id then
    return nil, "atmos: the server could not be started: see :LspLog"
  end
  s.client_id = id
  servers[root] = s
  return s
end

--- Sends a request to the server of `root` (started if needed). `cb(err, result)` runs on
--- the main loop; `err` is the server's `{ code, message, data }` or one made here.
--- Returns a handle for `M.cancel`, which fills in once the request is written.
---@param root string
---@param method string
---@param params table
---@param cb fun(err: table?, result: any)
---@return table handle
function M.request(root, method, params, cb)
  local handle = { root = root }
  local s, err = M.server(root)
  if not s then
    vim.schedule(function()
      cb({ code = -1, message = err })
    end)
    return handle
  end
  local function send()
    if handle.cancelled then
      return
    end
    local client = vim.lsp.get_client_by_id(s.client_id)
    if not client then
      cb({ code = -1, message = "atmos: the server is not running: see :LspLog" })
      return
    end
    local ok, id = call(client, "request", method, params, function(e, result)
      vim.schedule(function()
        cb(e, result)
      end)
    end)
    if not ok then
      cb({ code = -1, message = "atmos: the server has stopped: run the command again to restart it" })
      return
    end
    handle.id = id
    handle.client_id = s.client_id
  end
  if s.ready then
    send()
  else
    table.insert(s.queue, send)
  end
  return handle
end

--- Cancels a request made with `M.request` (`$/cancelRequest`). Its callback is not called:
--- the server answers -32800, which Neovim's client keeps to itself.
---@param handle table
function M.cancel(handle)
  handle.cancelled = true
  if handle.id and handle.client_id then
    local client = vim.lsp.get_client_by_id(handle.client_id)
    if client then
      call(client, "cancel_request", handle.id)
    end
  end
end

--- A request answered synchronously (for :checkhealth). Returns result, err.
---@param root string
---@param method string
---@param params table
---@param timeout_ms? integer
function M.request_sync(root, method, params, timeout_ms)
  local done, res, er = false, nil, nil
  M.request(root, method, params, function(e, r)
    done, res, er = true, r, e
  end)
  if not vim.wait(timeout_ms or 5000, function()
    return done
  end, 10) then
    return nil, { message = "no answer from the server within " .. (timeout_ms or 5000) .. " ms" }
  end
  return res, er
end

--- Stops every server this plugin started (Neovim also stops them when it exits).
function M.stop_all()
  for root, s in pairs(servers) do
    s.stopping = true
    local client = vim.lsp.get_client_by_id(s.client_id)
    if client then
      call(client, "stop")
    end
    servers[root] = nil
  end
end

--- The roots with a running server.
---@return string[]
function M.roots()
  return vim.tbl_keys(servers)
end

-- One function per request: `M.session_create(root, params, cb)`, …, `M.chat(root, params, cb)`.
for fname, method in pairs(M.methods) do
  M[fname] = function(root, params, cb)
    return M.request(root, method, params or vim.empty_dict(), cb)
  end
end

return M
