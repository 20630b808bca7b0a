// `--nproc N` on one machine: what torchrun does for a single node, for a low command line. It
// starts N copies of the command as ranks 0..N-1 of one process group (RANK, LOCAL_RANK,
// WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free MASTER_PORT), shows rank 0's output and the others'
// errors, and, when a rank fails, names it, gives the others the collective timeout to notice and
// exit, and stops those that have not. Ctrl-C (SIGINT) reaches every rank once: the ranks are in
// their own process group, and the launcher passes the signal on; they stop after the same batch.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface LaunchOptions {
  nproc: number;
  /** The entry script and its arguments, as for `node`: e.g. [bin/low.js, 'train', ...]. */
  argv: string[];
  /** The collective timeout the ranks use: how long they may take to notice a failed peer. */
  timeoutMs: number;
  /** Extra environment for every rank (e.g. its intra-op thread count). */
  env?: NodeJS.ProcessEnv;
  /** Where the other ranks' stderr lines go (default: this process's stderr, prefixed with the rank). */
  log?: (line: string) => void;
  /** Rank 0's stdout and stderr: shown (default) or passed to `log` as the others'. */
  rank0?: 'inherit' | 'log';
}

/** The exit code of the launched group: 0 when every rank finished, else the first failing rank's. */
export async function launchLocal(o: LaunchOptions): Promise<number> {
  const port = await freePort();
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const children: ChildProcess[] = [];
  let firstFailure: { rank: number; code: number } | null = null;
  let stopTimer: NodeJS.Timeout | null = null;
  const exited = new Set<number>();

  const onSigint = () => {
    for (const [rank, child] of children.entries()) if (!exited.has(rank)) child.kill('SIGINT');
  };
  process.on('SIGINT', onSigint);
  try {
    const codes = await Promise.all(
      Array.from({ length: o.nproc }, (_, rank) => {
        const shown = rank === 0 && o.rank0 !== 'log';
        const child = spawn(process.execPath, [...process.execArgv, ...o.argv], {
          detached: true,
          stdio: ['ignore', shown ? 'inherit' : 'ignore', shown ? 'inherit' : 'pipe'],
          env: {
            ...process.env,
            ...o.env,
            RANK: String(rank),
            LOCAL_RANK: String(rank),
            WORLD_SIZE: String(o.nproc),
            LOCAL_WORLD_SIZE: String(o.nproc),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
          },
        });
        children.push(child);
        if (!shown) linesOf(child, (line) => log(`[rank ${rank}] ${line}`));
        return new Promise<number>((resolve) => {
          child.on('close', (code, signal) => {
            exited.add(rank);
            const status = code ?? (signal === 'SIGINT' ? 130 : 1);
            if (status !== 0 && status !== 130 && firstFailure === null) {
              firstFailure = { rank, code: status };
              log(
                `low: rank ${rank} of ${o.nproc} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; ` +
                  `the other ranks stop within the collective timeout (${Math.round(o.timeoutMs / 1000)} s)`,
              );
              // They notice at their next collective; any still running after the timeout is stopped.
              stopTimer ??= setTimeout(() => {
                for (const [r, c] of children.entries()) if (!exited.has(r)) c.kill('SIGKILL');
              }, o.timeoutMs + 10_000);
            }
            resolve(status);
          });
        });
      }),
    );
    if (firstFailure !== null) return (firstFailure as { code: number }).code;
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off('SIGINT', onSigint);
    if (stopTimer) clearTimeout(stopTimer);
  }
}

/** A TCP port free on 127.0.0.1 now (the rendezvous store binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function linesOf(child: ChildProcess, onLine: (line: string) => void): void {
  let pending = '';
  child.stderr?.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  child.stderr?.on('end', () => {
    if (pending.trim()) onLine(pending);
  });
}
