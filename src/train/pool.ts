// The replicas of a training run: rank 0 in this thread, the others in worker threads, each
// with its own WASM backend. `step` splits a batch into one shard per replica and runs a phase
// everywhere at once.
import { Worker } from 'node:worker_threads';
import { Replica, splitShard, type Phase, type ReplicaSetup, type Shard, type Losses } from './replica.js';
import { ThreadExchangeHost, soloExchange, type ReduceMessage } from './exchange.js';
import type { NamedArray } from '../models/safetensors.js';
import type { BackendName } from '../tfjs/backend.js';

type ReplicaState = ReturnType<Replica['state']>;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface PoolOptions {
  workers: number;
  accumulate: number;
  backend: BackendName;
}

export class ReplicaPool {
  private queues: Pending[][] = [];
  private failure: Error | null = null;
  private closing = false;

  private constructor(
    readonly local: Replica,
    private readonly workers: Worker[],
    private readonly host: ThreadExchangeHost | null,
  ) {}

  get size(): number {
    return this.workers.length + 1;
  }

  static async create(setup: ReplicaSetup, opts: PoolOptions): Promise<ReplicaPool> {
    const extra = Math.max(0, opts.workers - 1);
    const workers = Array.from({ length: extra }, () => new Worker(new URL('./worker.js', import.meta.url)));
    const host = extra > 0 ? new ThreadExchangeHost(workers) : null;
    const local = await Replica.create(setup, host ?? soloExchange, opts.accumulate);
    const pool = new ReplicaPool(local, workers, host);
    workers.forEach((w, i) => {
      pool.queues[i] = [];
      // A failed or dead worker fails its pending calls and the exchange, so rank 0 stops waiting
      // for a gradient that will never come and the trainer can save what it has.
      const fail = (err: Error) => {
        pool.failure ??= err;
        host!.fail(err);
        for (const p of pool.queues[i]!.splice(0)) p.reject(err);
      };
      w.on('message', (msg: { type: string; error?: string; value?: unknown }) => {
        if (msg.type === 'reduce') return host!.receive(i, msg as ReduceMessage);
        if (msg.type === 'error') return fail(new Error(`training worker ${i + 1} failed: ${msg.error}`));
        pool.queues[i]!.shift()?.resolve(msg.value);
      });
      w.on('error', (err) => fail(new Error(`training worker ${i + 1} failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (!pool.closing) fail(new Error(`training worker ${i + 1} exited (code ${code})`));
      });
    });
    await Promise.all(workers.map((_, i) => pool.call(i, { type: 'init', setup, rank: i + 1, size: extra + 1, accumulate: opts.accumulate, backend: opts.backend })));
    return pool;
  }

  private call(i: number, msg: object, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queues[i]!.push({ resolve, reject });
      this.workers[i]!.postMessage(msg, transfer);
    });
  }

  /** Copies rank 0's weights and optimizer state to every replica. */
  async broadcastState(): Promise<void> {
    const s = this.local.state();
    await Promise.all(this.workers.map((_, i) => this.call(i, { type: 'load', state: s })));
  }

  async step(phase: Phase, batch: Shard, learningRate: number): Promise<Losses> {
    // Copies, not views: posting a view to a worker would clone its whole underlying buffer.
    const shards = splitShard(batch, this.size, true);
    const remote = Promise.allSettled(this.workers.map((_, i) => this.call(i, { type: 'step', phase, shard: shards[i + 1]!, learningRate })));
    let losses: Losses;
    try {
      losses = await this.local.step(phase, shards[0]!, learningRate);
    } catch (err) {
      // Rank 0's own failure: the workers wait for a mean that will not come; close() ends them.
      this.failure ??= err as Error;
      throw this.failure;
    }
    const failed = (await remote).find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return losses;
  }

  /** State of replica `rank` (tests use it to check that replicas stay identical). */
  async stateOf(rank: number): Promise<ReplicaState> {
    if (rank === 0) return this.local.state();
    return (await this.call(rank - 1, { type: 'state' })) as ReplicaState;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    await this.local.dispose();
  }
}

export type { ReplicaState, NamedArray };
