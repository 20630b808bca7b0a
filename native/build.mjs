// Builds the native addon with node-gyp, unless the sources, the libtorch it was built against and
// the compiler flags are unchanged since the last build (a torch.h translation unit takes ~35 s).
//   node native/build.mjs              fails when libtorch is missing (scripts/setup.sh, npm run build)
//   node native/build.mjs --optional   npm's install hook: without libtorch the package installs
//                                      for low-ts/core alone (pure JS), and says how to get the engine
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { locateLibtorch } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let torch;
try {
  torch = locateLibtorch();
} catch (e) {
  console.error(`\nlow-ts: ${e.message}\n`);
  if (process.argv.includes('--optional')) {
    console.error(
      'low-ts: the native addon was not built. low-ts/core (the LOW solver, gradient norms, metrics and ' +
        'statistics in plain JavaScript) works without it; the engine (low-ts, the low command) needs it: ' +
        'get libtorch as above, then run npm rebuild low-ts.\n',
    );
    process.exit(0);
  }
  process.exit(1);
}

const hash = createHash('sha256');
for (const f of [
  'binding.gyp',
  ...readdirSync(join(root, 'native'))
    .filter((f) => /\.(cc|h|mjs)$/.test(f))
    .map((f) => `native/${f}`),
]) {
  hash.update(f).update(readFileSync(join(root, f)));
}
hash.update(JSON.stringify(torch)).update(process.version);
const digest = hash.digest('hex');
const stamp = join(root, 'build', 'low_native.stamp');
const binary = join(root, 'build', 'Release', 'low_native.node');
if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) {
  console.log(`low-ts: native addon up to date (${torch.source})`);
  process.exit(0);
}

// npm passes its own node-gyp; run standalone we find the one bundled with npm.
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(npmCli)) return npmCli;
  return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
}
console.log(`low-ts: building the native addon against ${torch.source} (about a minute)...`);
const args = [nodeGyp(), 'rebuild', `--jobs=${Math.max(1, (await import('node:os')).cpus().length)}`];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
const env = { ...process.env };
if (!env.CXX && spawnSync('ccache', ['--version']).status === 0) env.CXX = 'ccache g++';
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) {
  console.error('\nlow-ts: the native build failed (see the compiler output above).');
  process.exit(r.status ?? 1);
}
writeFileSync(stamp, digest);
