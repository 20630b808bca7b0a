// Worker threads that use the addon may be terminated at any moment, during a native call or
// while the addon loads, and the process must go on. Before the guard was made unable to throw,
// Worker.terminate() during a call aborted the whole process ("terminate called after throwing
// an instance of 'Napi::Error'"): the guard threw a JavaScript exception into an environment that
// could no longer run JavaScript.
//
// The workers run in a child process, so that such a crash is seen as a signal here rather than
// taking the test runner down with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { packagePath } from '../src/paths.js';

const ADDON = packagePath('build', 'Release', 'low_native.node');

// A worker's native work: tensors made, combined, copied out and disposed, tensors left for the
// environment's teardown to finalize, and calls that fail (the guard's error path).
const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.postMessage('loading');
const a = require(${JSON.stringify(ADDON)});
parentPort.postMessage('loaded');
const kept = [];
for (let i = 0; ; i++) {
  const x = a.randn([32, 32], 'float32', 'cpu');
  const y = a.matmul(x, x);
  a.toArray(y);
  for (const part of a.split(y, 8, 0)) a.dispose(part);
  try { a.add(x, 1, 1); } catch {}
  try { a.fromArray(new Float32Array(3), [2]); } catch {}
  try { a.reshape(x, [7]); } catch {}
  a.dispose(y);
  if (i % 16 === 0) kept.push(x); else a.dispose(x);
}
`;

// The child: workers terminated at seeded random moments, half while the addon loads (timed from
// the worker's 'loading' message) and half while it computes (from 'loaded').
const CHILD = `
import { Worker } from 'node:worker_threads';
const rounds = Number(process.argv[1]);
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const source = ${JSON.stringify(WORKER)};
let duringCalls = 0;
for (let round = 0; round < rounds; round++) {
  const worker = new Worker(source, { eval: true, execArgv: [] });
  const failed = new Promise((_, reject) => worker.once('error', reject));
  const reached = (what) => Promise.race([failed, new Promise((resolve) => worker.on('message', (m) => m === what && resolve()))]);
  if (round % 2 === 0) {
    await reached('loading');
    await sleep(random() * 8);
  } else {
    await reached('loaded');
    await sleep(random() * 15);
    duringCalls++;
  }
  await worker.terminate();
}
console.log('survived ' + rounds + ' terminations, ' + duringCalls + ' during native calls');
`;

test('terminating Workers during native calls and while the addon loads leaves the process running', () => {
  const rounds = 40;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, String(rounds)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `the process was killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stdout, new RegExp(`survived ${rounds} terminations, ${rounds / 2} during native calls`));
});
