// Where the package's own files are, whether running from src/ (tsx) or dist/src/ (compiled).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'low-ts') return dir;
    dir = dirname(dir);
  }
  throw new Error(`low-ts: cannot find the package root (package.json named low-ts) above ${fileURLToPath(import.meta.url)}`);
}

/** The folder holding low-ts's package.json. */
export const packageRoot = findRoot();

/** A path inside the package, e.g. packagePath('scripts', 'bench', 'x.py'). */
export function packagePath(...parts: string[]): string {
  return join(packageRoot, ...parts);
}
