#!/usr/bin/env node
// The `pixelprop` command: runs the compiled CLI (npm install compiles src/ into dist/ through its prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error("pixelprop: not built yet — run 'npm install' (or 'npm run build') in the pixelprop folder first");
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
