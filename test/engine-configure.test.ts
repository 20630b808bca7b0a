// Importing the engine changes no process-wide state; configure() sets the thread count and the
// allocator's policy, and the CLI calls it before any command. Each case runs in a fresh child
// process, since both settings are the process's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagePath } from '../src/paths.js';
import { makeTempDir } from './data-fixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

// What the child reports: libtorch's thread count before and after importing src/torch and after
// configure(), and how many MB of a freed 64 MB tensor went back to the system before and after
// configure(). glibc serves a block that large from a fresh mapping and unmaps it when freed;
// with the retained heap it comes from the heap and stays with the process.
const CHILD = `
import { createRequire } from 'node:module';
const raw = createRequire(import.meta.url)(${JSON.stringify(packagePath('build', 'Release', 'low_native.node'))});
const returnedMb = () => {
  const t = raw.ones([16 * 2 ** 20], 'float32', 'cpu');
  const held = process.memoryUsage().rss;
  raw.dispose(t);
  return (held - process.memoryUsage().rss) / 2 ** 20;
};
const before = raw.getNumThreads();
const torch = await import(${JSON.stringify(packagePath('src', 'torch', 'index.ts'))});
const afterImport = torch.getNumThreads();
const returnedBefore = returnedMb();
torch.configure();
console.log(JSON.stringify({ before, afterImport, returnedBefore, afterConfigure: torch.getNumThreads(), returnedAfter: returnedMb() }));
`;

interface Report {
  before: number;
  afterImport: number;
  returnedBefore: number;
  afterConfigure: number;
  returnedAfter: number;
}

function child(env: Record<string, string>): Report {
  const clean = { ...process.env };
  delete clean.LOW_NUM_THREADS;
  delete clean.LOW_SYSTEM_MALLOC;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: root,
    encoding: 'utf8',
    env: { ...clean, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

test('importing src/torch changes neither the thread count nor the allocator; configure() sets both', () => {
  const r = child({});
  assert.equal(r.afterImport, r.before, 'the import changed the thread count');
  assert.ok(
    r.returnedBefore > 48,
    `before configure(), ${r.returnedBefore.toFixed(1)} of 64 freed MB went back to the system (glibc's default)`,
  );
  assert.equal(r.afterConfigure, availableParallelism());
  assert.ok(
    r.returnedAfter < 16,
    `after configure(), ${r.returnedAfter.toFixed(1)} of 64 freed MB went back to the system (the heap should keep them)`,
  );
});

test("configure() takes LOW_NUM_THREADS and keeps glibc's defaults under LOW_SYSTEM_MALLOC=1", () => {
  const r = child({ LOW_NUM_THREADS: '1', LOW_SYSTEM_MALLOC: '1' });
  assert.equal(r.afterConfigure, 1);
  assert.ok(r.returnedAfter > 48, `with LOW_SYSTEM_MALLOC=1, only ${r.returnedAfter.toFixed(1)} of 64 freed MB went back to the system`);
});

test('the CLI refuses --threads beyond the cores before writing anything', () => {
  const temp = makeTempDir('threads');
  try {
    const out = join(temp.dir, 'run');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'train', '--threads', '100000', '--out', out],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(r.status, 1, r.stderr);
    // The option's parser refuses it first, naming the option and the machine's cores (setNumThreads would too).
    assert.match(
      r.stderr,
      new RegExp(
        '--threads: 100000 is too large, ' +
          `expected a positive integer from 1 to ${availableParallelism()} \\(the ${availableParallelism()} cores of this machine`,
      ),
    );
    assert.equal(existsSync(out), false);
  } finally {
    temp.remove();
  }
});
