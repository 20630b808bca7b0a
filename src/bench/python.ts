// A long-lived Python reference process for benchmarks: one JSON command per line in, one JSON
// answer per line out. Debian's /usr/bin/python3 is used on purpose: it is the interpreter that
// python3-torch and python3-cvxopt install into (another python3 on PATH may lack them).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { freePort } from '../distributed/launch.js';
import { createInterface, type Interface } from 'node:readline';

export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Whether `python` can import every module named; used to skip a reference with a clear note. */
export function pythonHas(modules: string[], python = DEBIAN_PYTHON): boolean {
  const r = spawnSync(python, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' });
  return r.status === 0;
}

export class PythonWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  /** Lines printed before anyone asked for them (a worker that starts while another is awaited). */
  private readonly unread: string[] = [];
  private stderr = '';
  private exited: string | null = null;

  /** `env`: variables added to this process's environment (e.g. glibc's MALLOC_* tunables). */
  constructor(script: string, args: string[], python = DEBIAN_PYTHON, env: Record<string, string> = {}) {
    this.child = spawn(python, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => {
      const waiter = this.pending.shift();
      if (waiter) waiter(line);
      else this.unread.push(line);
    });
    this.child.on('exit', (code) => {
      this.exited = `${script} exited with code ${code}: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      for (const waiter of this.pending.splice(0)) waiter('');
    });
  }

  /** The next line the worker prints, parsed. */
  next<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      const answer = (line: string) => {
        if (this.exited !== null && line === '') reject(new Error(this.exited));
        else resolve(JSON.parse(line) as T);
      };
      const line = this.unread.shift();
      if (line !== undefined) answer(line);
      else if (this.exited !== null) answer('');
      else this.pending.push(answer);
    });
  }

  request<T>(command: unknown): Promise<T> {
    const answer = this.next<T>();
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    return answer;
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
  }
}

/**
 * Runs `script` as `nproc` ranks of one torch.distributed group on this machine (RANK, WORLD_SIZE,
 * MASTER_ADDR=127.0.0.1, a free MASTER_PORT: what init_process_group reads), each until it exits;
 * resolves to every rank's stdout, in rank order, and rejects naming the first rank that failed.
 */
export async function runPythonRanks(script: string, args: string[], nproc: number, what: string, timeoutMs = 600_000): Promise<string[]> {
  const port = await freePort();
  const ranks = Array.from({ length: nproc }, (_, rank) => {
    const child = spawn(DEBIAN_PYTHON, [script, ...args], {
      env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(nproc), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) },
      timeout: timeoutMs,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise<string>((resolve, reject) =>
      child.on('close', (code) => {
        if (code === 0) return resolve(out);
        const last = err.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${what}: rank ${rank} of ${nproc} exited with ${code}: ${last}`));
      }),
    );
  });
  return Promise.all(ranks);
}
