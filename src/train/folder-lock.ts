// A lock file that keeps two processes from training into the same folder at once: the same
// experiment script started twice, or a second terminal resuming a run that is still going. Both
// would write the same checkpoints, and one process's results would silently replace the other's.
// A lock left by a process that no longer exists (killed, machine restarted) is taken over, so a
// crash never leaves a folder that needs cleaning by hand. A pid alone cannot say that: after a
// restart, or once pids wrap around, another process may have the holder's pid. On Linux the lock
// also records the boot and the process's start time, and a live pid that does not match both
// is another process.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'lock.json';

/** Who holds a folder's lock, as its lock.json says. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** What the holder is doing there, e.g. "low compare" or "training". */
  what: string;
  /** Linux: the kernel's id of the boot the holder ran in (/proc/sys/kernel/random/boot_id). */
  boot?: string;
  /** Linux: the holder's start time, in clock ticks after boot (field 22 of /proc/<pid>/stat). */
  started?: string;
}

/** Thrown when another live process holds the folder; the message says which and what to do. */
export class FolderLocked extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
  ) {
    const file = join(dir, LOCK_FILE);
    super(
      holder
        ? `${dir} is in use: ${holder.what} by process ${holder.pid} on ${holder.host} since ${holder.since}; ` +
            `wait for it or stop it, then run again (if that process is gone, delete ${file})`
        : `${dir} is in use: ${file} exists but cannot be read; if no process is training there, delete it`,
    );
    this.name = 'FolderLocked';
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(h?.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** The contents of a /proc file, or undefined where there is none (not Linux, process gone). */
function readProc(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const bootId = (): string | undefined => readProc('/proc/sys/kernel/random/boot_id')?.trim();

/**
 * A process's start time in clock ticks after boot. The command name (field 2) may hold spaces and parentheses, so fields
 * are counted after its last ')'.
 */
function startTicks(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/**
 * Whether the holder may still be running. A process on another machine cannot be checked, so it
 * counts as running; so does a live pid when the lock does not record which process it was.
 */
function mayBeRunning(h: LockHolder): boolean {
  if (h.host !== hostname()) return true;
  if (h.boot !== undefined && h.boot !== bootId()) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    // ESRCH: no such process. EPERM: it exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = startTicks(h.pid);
  return h.started === undefined || now === undefined || now === h.started;
}

/**
 * Takes `dir`'s lock for this process, or throws FolderLocked if a live process holds it. Returns
 * the function that releases it (idempotent; it leaves a lock another process has taken since).
 */
export function lockFolder(dir: string, what: string): () => void {
  const file = join(dir, LOCK_FILE);
  const mine: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    what,
    boot: bootId(),
    started: startTicks(process.pid),
  };
  // Twice at most: once more after removing a stale lock (another process may take it between).
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
      return () => {
        const h = readHolder(file);
        if (h && h.pid === mine.pid && h.host === mine.host && h.since === mine.since) rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(file);
    if (holder === null || mayBeRunning(holder)) throw new FolderLocked(dir, holder);
    rmSync(file, { force: true });
  }
  throw new FolderLocked(dir, readHolder(file));
}
