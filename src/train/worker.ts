// Entry point of a training worker thread: one replica on its own WASM backend, driven by
// messages from the pool in the main thread.
import { parentPort } from 'node:worker_threads';
import { initBackend, type BackendName } from '../tfjs/backend.js';
import { Replica, type ReplicaSetup } from './replica.js';
import { ThreadExchangeClient } from './exchange.js';

if (!parentPort) throw new Error('worker.ts must run in a worker thread');
const port = parentPort;
let replica: Replica | null = null;
let exchange: ThreadExchangeClient | null = null;

// Commands run one at a time, in order; 'reduced' messages bypass the queue because a running
// 'step' is waiting for them.
let chain: Promise<void> = Promise.resolve();

port.on('message', (msg: { type: string; [k: string]: unknown }) => {
  if (msg.type === 'reduced') {
    exchange!.receive(msg as never);
    return;
  }
  chain = chain.then(() => handle(msg)).catch((err: unknown) => {
    port.postMessage({ type: 'error', error: err instanceof Error ? err.message : String(err) });
  });
});

async function handle(msg: { type: string; [k: string]: unknown }): Promise<void> {
  switch (msg.type) {
    case 'init': {
      await initBackend({ backend: msg['backend'] as BackendName, quiet: true });
      exchange = new ThreadExchangeClient(msg['rank'] as number, msg['size'] as number, port);
      replica = await Replica.create(msg['setup'] as ReplicaSetup, exchange, msg['accumulate'] as number);
      port.postMessage({ type: 'ok' });
      return;
    }
    case 'load':
      replica!.loadState(msg['state'] as Parameters<Replica['loadState']>[0], 'broadcast state');
      port.postMessage({ type: 'ok' });
      return;
    case 'step': {
      const losses = await replica!.step(msg['phase'] as 'g' | 'd', msg['shard'] as never, msg['learningRate'] as number);
      port.postMessage({ type: 'ok', value: losses });
      return;
    }
    case 'state':
      port.postMessage({ type: 'ok', value: replica!.state() });
      return;
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}
