#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx's loader so the package
// works straight from a clone (no build step).
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";

register();
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
await import(pathToFileURL(join(root, "src/cli/main.ts")).href);
