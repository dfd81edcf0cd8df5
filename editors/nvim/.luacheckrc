-- luacheck configuration for atmos.nvim
std = "luajit"
globals = { "vim" }
max_line_length = 140
exclude_files = { "tests/.venv" }
