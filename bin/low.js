#!/usr/bin/env node
// The `low` command. Runs the compiled CLI (npm install compiles it into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('low: the TypeScript sources are not compiled (dist/ is missing). Run `npm install` or `npm run build` first.');
  process.exit(1);
}
await import(main.href);
