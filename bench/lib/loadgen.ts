/** Orchestrator side of the load generator: forks `loadgen-worker.ts` and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './proc.ts';
import type { BurstJob, BurstResult, LoadJob, LoadResult, ProbeResult, RequestSpec, WorkerReply, WorkerRequest } from './loadgen-types.ts';

const WORKER = fileURLToPath(new URL('./loadgen-worker.ts', import.meta.url));

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class LoadGenerator {
  readonly child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #ready: Promise<void>;
  #dead: string | undefined;

  constructor() {
    this.child = fork(WORKER, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    track(this.child);
    this.#ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('load generator did not start within 15 s')), 15_000);
      this.#pending.set(0, { resolve: () => resolve(), reject, timer });
    });
    this.child.on('message', (m: WorkerReply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`load generator: ${m.error}`));
    });
    this.child.once('exit', (code, signal) => {
      this.#dead = `load generator exited (code ${code}, signal ${signal})`;
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(this.#dead));
      }
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  #call<T>(msg: WorkerRequest, timeoutMs: number): Promise<T> {
    if (this.#dead) return Promise.reject(new Error(this.#dead));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(msg.id);
        reject(new Error(`load generator did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(msg.id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send(msg);
    });
  }

  /** Runs one measurement (validation request, warm-up, measured phase). */
  load(job: LoadJob): Promise<LoadResult> {
    const bound = job.warmupMs + job.durationMs + 3 * job.requestTimeoutMs + 10_000;
    return this.#call<LoadResult>({ id: this.#next++, type: 'load', job }, bound);
  }

  /** A fixed list of requests over exactly `job.connections` connections. */
  burst(job: BurstJob): Promise<BurstResult> {
    const bound = (Math.ceil(job.requests.length / job.connections) + 3) * job.requestTimeoutMs + 10_000;
    return this.#call<BurstResult>({ id: this.#next++, type: 'burst', job }, bound);
  }

  /** One SSE request with per-event arrival times. */
  probe(spec: RequestSpec, timeoutMs: number): Promise<ProbeResult> {
    return this.#call<ProbeResult>({ id: this.#next++, type: 'probe', spec, timeoutMs }, timeoutMs + 5_000);
  }

  async close(): Promise<void> {
    if (this.#dead) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.#call({ id: this.#next++, type: 'exit' }, 5_000).catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
  }
}
