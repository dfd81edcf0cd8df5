--- `:checkhealth atmos`
local M = {}

function M.check()
  local health = vim.health
  local config = require("atmos.config")
  local client = require("atmos.client")

  health.start("Neovim")
  if vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim " .. tostring(vim.version()) .. " is too old", { "atmos.nvim needs Neovim 0.10 or newer" })
  end

  health.start("atmos binary")
  local missing = client.missing_binary()
  if missing then
    health.error(("'%s' is not an executable on PATH"):format(config.options.cmd[1]), {
      "install it: `cargo install --path cli` in the atmos-ai repository",
      "or point setup() at it: require('atmos').setup({ cmd = { '/path/to/atmos', 'ai', 'serve' } })",
    })
    return
  end
  local exe = vim.fn.exepath(config.options.cmd[1])
  local ok, out = pcall(function()
    return vim.system({ exe, "--version" }, { text = true }):wait(5000)
  end)
  if ok and out.code == 0 then
    health.ok(("%s (%s)"):format(vim.trim(out.stdout), exe))
  else
    health.warn(("%s did not answer --version"):format(exe), { "check that it is the atmos-ai binary" })
  end

  health.start("project")
  local root = client.root()
  local status, err = client.request_sync(root, client.methods.status, vim.empty_dict(), 10000)
  if not status then
    health.error("the server could not answer: " .. ((err and err.message) or "unknown error"), { "see :LspLog" })
    return
  end
  health.ok("project root: " .. status.projectRoot)
  if status.configPath == vim.NIL or not status.configPath then
    health.warn("no atmos.yaml at or above " .. root, { "create one with an `ai:` section (see :help atmos-config)" })
  else
    health.ok("configuration: " .. status.configPath)
  end
  if status.sessionsEnabled then
    health.ok(("sessions enabled: %d in %s"):format(status.sessionCount, status.databasePath))
  else
    health.warn("sessions are disabled: chats cannot be kept", { "add to atmos.yaml:\nai:\n  sessions:\n    enabled: true" })
  end

  health.start("providers")
  local providers, perr = client.request_sync(root, client.methods.providers_list, vim.empty_dict(), 10000)
  if not providers then
    health.error("cannot list providers: " .. ((perr and perr.message) or "unknown error"))
    return
  end
  local any = false
  for _, p in ipairs(providers.providers) do
    local label = ("%s (%s)%s"):format(p.name, p.model, p.name == providers.default and ", the default" or "")
    if p.configured then
      any = true
      health.ok(label .. ": ready (its credentials are set, or it needs none)")
    else
      health.info(label .. ": " .. (p.reason or "not configured"))
    end
  end
  if not any then
    health.error("no provider has credentials", { "set a key variable, e.g. ANTHROPIC_API_KEY, or configure ollama" })
  end
end

return M
