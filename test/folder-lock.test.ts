// The lock that keeps two processes out of one run or experiment folder: taken and released, a
// live holder refused with its pid, and a lock left behind by a process that no longer exists
// taken over. (A real second `low compare` against a running one: interrupt-process.test.ts.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FolderLocked, LOCK_FILE, lockFolder, type LockHolder } from '../src/train/folder-lock.js';
import { makeTempDir } from './data-fixtures.js';

const temp = makeTempDir('lock');
after(temp.remove);
let n = 0;
const folder = () => {
  const dir = join(temp.dir, `f${n++}`);
  mkdirSync(dir);
  return dir;
};
const holder = (h: Partial<LockHolder>): string =>
  JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', what: 'low compare', ...h });

test('a folder is locked while held, with who holds it; released, it can be taken again', () => {
  const dir = folder();
  const release = lockFolder(dir, 'low compare');
  const h = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockHolder;
  assert.equal(h.pid, process.pid);
  assert.equal(h.what, 'low compare');
  assert.throws(
    () => lockFolder(dir, 'training normal seed 0'),
    (e: Error) =>
      e instanceof FolderLocked && e.message.startsWith(`${dir} is in use: low compare by process ${process.pid} on ${hostname()} since `),
  );
  release();
  assert.ok(!existsSync(join(dir, LOCK_FILE)));
  release(); // idempotent
  lockFolder(dir, 'training normal seed 0')();
});

test('a lock left by a process that has exited is taken over', () => {
  const dir = folder();
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  writeFileSync(join(dir, LOCK_FILE), holder({ pid: gone }));
  const release = lockFolder(dir, 'low compare');
  assert.equal((JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockHolder).pid, process.pid);
  release();
});

test('a live pid that is another process than the holder (the machine restarted, or pids wrapped around) does not hold the lock', () => {
  // Taken by this process, the lock records this boot and this process's start time.
  const dir = folder();
  lockFolder(dir, 'low compare');
  const mine = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockHolder;
  assert.match(mine.boot!, /^[0-9a-f-]{36}$/);
  assert.match(mine.started!, /^\d+$/);
  // Same boot and start time: the holder itself, still running.
  assert.throws(() => lockFolder(dir, 'x'), FolderLocked);
  // This pid is alive, but the lock was taken in another boot, or by a process started at
  // another time that had this pid: both are stale and taken over.
  for (const stale of [{ boot: '00000000-0000-0000-0000-000000000000' }, { started: String(Number(mine.started) - 1) }]) {
    const d = folder();
    writeFileSync(join(d, LOCK_FILE), holder({ ...mine, ...stale }));
    const release = lockFolder(d, 'low compare');
    const taken = JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')) as LockHolder;
    assert.deepEqual([taken.boot, taken.started], [mine.boot, mine.started]);
    release();
  }
  // A lock that records neither (written by an older version) still counts a live pid as the holder.
  const old = folder();
  writeFileSync(join(old, LOCK_FILE), holder({}));
  assert.throws(() => lockFolder(old, 'x'), FolderLocked);
});

test('a holder that cannot be checked counts as running: another machine, or an unreadable lock file', () => {
  const other = folder();
  writeFileSync(join(other, LOCK_FILE), holder({ pid: 1, host: 'another-machine' }));
  assert.throws(() => lockFolder(other, 'x'), /is in use: low compare by process 1 on another-machine .*delete .*lock\.json/);
  const unreadable = folder();
  writeFileSync(join(unreadable, LOCK_FILE), '{"pid": 12');
  assert.throws(() => lockFolder(unreadable, 'x'), /lock\.json exists but cannot be read; if no process is training there, delete it/);
});

test('releasing leaves a lock another process has taken since', () => {
  const dir = folder();
  const release = lockFolder(dir, 'low compare');
  // Say the file was deleted by hand and another process took the folder.
  writeFileSync(join(dir, LOCK_FILE), holder({ pid: process.pid + 1, since: '2026-02-02T00:00:00.000Z' }));
  release();
  assert.ok(existsSync(join(dir, LOCK_FILE)));
});
