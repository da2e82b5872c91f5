// How replicas agree on a gradient. Everything the trainer needs from the transport is one call,
// an all-reduce mean, so other transports (processes, machines) can replace the thread one.
import type { Worker, MessagePort } from 'node:worker_threads';

export interface GradientExchange {
  /** 0 for the coordinating replica. */
  readonly rank: number;
  /** Number of replicas taking part. */
  readonly size: number;
  /** Element-wise mean of `local` over all replicas, the same bytes on every replica. */
  allReduceMean(local: Float32Array): Promise<Float32Array>;
}

/** A single replica: nothing to exchange. */
export const soloExchange: GradientExchange = {
  rank: 0,
  size: 1,
  allReduceMean: async (local) => local,
};

export interface ReduceMessage {
  type: 'reduce';
  data: Float32Array;
}
export interface ReducedMessage {
  type: 'reduced';
  data: Float32Array;
}

/**
 * Rank 0 in the main thread; ranks 1..n-1 are worker threads. Contributions are summed in rank
 * order and divided once, so the result does not depend on arrival order.
 */
export class ThreadExchangeHost implements GradientExchange {
  readonly rank = 0;
  private pending: Array<Float32Array[]>;
  private waiters: Array<(() => void) | null>;

  constructor(private readonly workers: readonly Worker[]) {
    this.pending = workers.map(() => []);
    this.waiters = workers.map(() => null);
  }

  get size(): number {
    return this.workers.length + 1;
  }

  /** The trainer routes every 'reduce' message from worker i (rank i+1) here. */
  receive(workerIndex: number, msg: ReduceMessage): void {
    this.pending[workerIndex]!.push(msg.data);
    const w = this.waiters[workerIndex];
    if (w) {
      this.waiters[workerIndex] = null;
      w();
    }
  }

  private failure: Error | null = null;

  /** A replica died: every waiting and later all-reduce fails with its error instead of waiting forever. */
  fail(err: Error): void {
    this.failure ??= err;
    this.waiters.forEach((w, i) => {
      this.waiters[i] = null;
      w?.();
    });
  }

  private async take(i: number): Promise<Float32Array> {
    while (this.pending[i]!.length === 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiters[i] = resolve));
    }
    return this.pending[i]!.shift()!;
  }

  async allReduceMean(local: Float32Array): Promise<Float32Array> {
    const parts = [local];
    for (let i = 0; i < this.workers.length; i++) parts.push(await this.take(i));
    const out = new Float32Array(local.length);
    for (const p of parts) {
      if (p.length !== out.length) throw new Error(`gradient exchange: replica sent ${p.length} values, expected ${out.length}`);
      for (let j = 0; j < out.length; j++) out[j]! += p[j]!;
    }
    for (let j = 0; j < out.length; j++) out[j]! /= parts.length;
    for (const w of this.workers) w.postMessage({ type: 'reduced', data: out } satisfies ReducedMessage);
    return out;
  }
}

/** The worker-thread side: send the local part to rank 0, wait for the mean. */
export class ThreadExchangeClient implements GradientExchange {
  private inbox: Float32Array[] = [];
  private waiter: (() => void) | null = null;

  constructor(readonly rank: number, readonly size: number, private readonly port: MessagePort) {}

  receive(msg: ReducedMessage): void {
    this.inbox.push(msg.data);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async allReduceMean(local: Float32Array): Promise<Float32Array> {
    this.port.postMessage({ type: 'reduce', data: local } satisfies ReduceMessage, [local.buffer as ArrayBuffer]);
    while (this.inbox.length === 0) await new Promise<void>((resolve) => (this.waiter = resolve));
    return this.inbox.shift()!;
  }
}
