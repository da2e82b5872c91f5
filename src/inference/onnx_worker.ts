// Worker thread of the ONNX engine: one single-threaded session, tiles in, tiles out. Buffers are
// transferred, not copied, both ways.
import { parentPort, workerData } from 'node:worker_threads';
import { createSession, runSession } from './onnx_session.js';

interface RunMessage {
  type: 'run';
  id: number;
  tile: Float32Array;
  height: number;
  width: number;
}

const { threads } = workerData as { threads: number };
const port = parentPort!;

// The model comes in the first message: the parent starts this thread (and ONNX Runtime loads)
// while it is still exporting the model.
const bytes = await new Promise<Uint8Array>((resolve) => port.once('message', (msg: { type: 'model'; bytes: Uint8Array }) => resolve(msg.bytes)));
try {
  const session = await createSession(bytes, threads);
  port.on('message', (msg: RunMessage | { type: 'dispose' }) => {
    if (msg.type === 'dispose') {
      void session.release().finally(() => port.close());
      return;
    }
    runSession(session, msg.tile, msg.height, msg.width).then(
      (out) => port.postMessage({ type: 'done', id: msg.id, out }, [out.buffer as ArrayBuffer]),
      (err: unknown) => port.postMessage({ type: 'error', id: msg.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  port.postMessage({ type: 'ready' });
} catch (err) {
  port.postMessage({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
}
