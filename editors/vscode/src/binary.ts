/**
 * Finds the `atmos` binary named by `atmos.path` (pure Node, unit-tested).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BinaryMissingError } from "./errorInfo";

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform !== "win32") {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of the `atmos` binary named by `atmos.path`: a path
 * (relative to the folder) or a name looked up on PATH.
 */
export function resolveBinary(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  if (command === "") {
    throw new BinaryMissingError("(empty)", "`atmos.path` is empty");
  }
  if (command.includes("/") || command.includes("\\")) {
    const file = path.resolve(cwd, command);
    if (isExecutable(file)) {
      return file;
    }
    throw new BinaryMissingError(command, fs.existsSync(file) ? "not executable" : "no such file");
  }
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").concat([""]) : [""];
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    for (const ext of exts) {
      const file = path.join(dir, command + ext);
      if (isExecutable(file)) {
        return file;
      }
    }
  }
  throw new BinaryMissingError(command, "not found on PATH");
}

