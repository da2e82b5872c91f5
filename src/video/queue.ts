// A first-in first-out queue of at most `capacity` items between one producer and one consumer:
// push() waits while the queue is full, shift() while it is empty. It is what keeps a video's
// decoded frames from piling up in memory when the upscaler is slower than the decoder.
export class BoundedQueue<T> {
  private items: T[] = [];
  private closed = false;
  private error: Error | null = null;
  private wakeProducer: (() => void) | null = null;
  private wakeConsumer: (() => void) | null = null;
  /** Most items ever held at once (tests and reports use it to show memory stays bounded). */
  highWater = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new Error(`queue capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.error) await new Promise<void>((r) => (this.wakeProducer = r));
    if (this.error) throw this.error;
    if (this.closed) throw new Error('push() on a closed queue');
    this.items.push(item);
    this.highWater = Math.max(this.highWater, this.items.length);
    this.wake('consumer');
  }

  /** The next item, or undefined once the queue is closed and empty. */
  async shift(): Promise<T | undefined> {
    while (this.items.length === 0 && !this.closed && !this.error) await new Promise<void>((r) => (this.wakeConsumer = r));
    if (this.error) throw this.error;
    const item = this.items.shift();
    this.wake('producer');
    return item;
  }

  /** No more items will come. */
  close(): void {
    this.closed = true;
    this.wake('consumer');
  }

  /** Both sides stop with this error. */
  fail(err: Error): void {
    this.error ??= err;
    this.items = [];
    this.wake('consumer');
    this.wake('producer');
  }

  private wake(side: 'producer' | 'consumer'): void {
    const f = side === 'producer' ? this.wakeProducer : this.wakeConsumer;
    if (side === 'producer') this.wakeProducer = null;
    else this.wakeConsumer = null;
    f?.();
  }
}
