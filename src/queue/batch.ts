// A batch: what one `srgan queue add` asked for, kept in Redis next to BullMQ's jobs so that
// status, retry and cancel can find every job of it (job ids are derived from the batch id and
// the item's position, see jobs.ts).
//
//   srgan:batches                  sorted set: batch id -> time added (ms)
//   srgan:batch:<id>               hash: created, out, options (JSON), count, state, cancelled
//   srgan:batch:<id>:items         list: one JSON item per input, in order
//   srgan:batch:<id>:video:<i>     set: indexes of video i's segments that are done
//
// No image or video bytes are ever stored: items hold paths on the storage all workers share.
import { randomBytes } from 'node:crypto';
import type { ImageFormat } from '../io/image.js';
import type { ModelSpec } from '../inference/model_source.js';
import type { EngineName } from '../inference/engine.js';
import { SrError, closest } from '../util/errors.js';
import { KEY_PREFIX, type RedisCommands, type RedisTarget } from './connection.js';

/** Settings every job of a batch shares. */
export interface BatchOptions {
  /** Shipped model names stay names (each worker finds its own copy); files are absolute paths. */
  model: ModelSpec;
  engine: EngineName;
  tileSize: number;
  overlap: number;
  /** Photos: JPEG/WebP quality; the format is per item. */
  quality: number;
  /** Videos: encoder settings as for `srgan video` (undefined: its defaults). */
  codec?: string;
  crf?: number;
  preset?: string;
  /** Replace outputs that existed when the batch was added. */
  force: boolean;
  /** Tries per job before it is reported failed, and the first wait between tries. */
  attempts: number;
  backoffMs: number;
}

export interface ImageItem {
  kind: 'image';
  input: string;
  output: string;
  format: ImageFormat;
}

export interface VideoItem {
  kind: 'video';
  input: string;
  output: string;
  /** Folder (on the shared storage) of the source segments and the upscaled ones. */
  parts: string;
  /** Source segment files, in order (cut at keyframes, stream copy). */
  sources: string[];
  /** Upscaled segment files, in the same order. */
  upscaled: string[];
  /** The input's frame rate (rational text), which every segment and the result keep. */
  rate: string;
  /** The input's frame count when the container states it. */
  frames?: number;
}

export type BatchItem = ImageItem | VideoItem;

export interface BatchRecord {
  id: string;
  created: number;
  /** The output folder given to `add`. */
  out: string;
  options: BatchOptions;
  items: BatchItem[];
  /** 'adding' until every job was queued (an interrupted add stays so; `retry` completes it). */
  state: 'adding' | 'queued';
  cancelled: boolean;
}

const BATCHES = `${KEY_PREFIX}:batches`;
const batchKey = (id: string) => `${KEY_PREFIX}:batch:${id}`;
const itemsKey = (id: string) => `${KEY_PREFIX}:batch:${id}:items`;
const segmentsDoneKey = (id: string, item: number) => `${KEY_PREFIX}:batch:${id}:video:${item}`;

export function newBatchId(): string {
  return randomBytes(5).toString('hex');
}

/** Writes the record and its items in one transaction, in state 'adding'. */
export async function saveBatch(redis: RedisCommands, b: BatchRecord): Promise<void> {
  const m = redis.multi();
  m.del(batchKey(b.id), itemsKey(b.id));
  m.hset(batchKey(b.id), {
    created: b.created,
    out: b.out,
    options: JSON.stringify(b.options),
    count: b.items.length,
    state: b.state,
    cancelled: b.cancelled ? 1 : 0,
  });
  if (b.items.length) m.rpush(itemsKey(b.id), ...b.items.map((it) => JSON.stringify(it)));
  m.zadd(BATCHES, b.created, b.id);
  await execAll(m);
}

export async function setBatchFields(redis: RedisCommands, id: string, fields: { state?: BatchRecord['state']; cancelled?: boolean }): Promise<void> {
  const data: Record<string, string | number> = {};
  if (fields.state !== undefined) data['state'] = fields.state;
  if (fields.cancelled !== undefined) data['cancelled'] = fields.cancelled ? 1 : 0;
  await redis.hset(batchKey(id), data);
}

/** Removes a batch record (used when an add fails before any job was queued). */
export async function deleteBatch(redis: RedisCommands, id: string, items: number): Promise<void> {
  const m = redis.multi();
  m.del(batchKey(id), itemsKey(id), ...Array.from({ length: items }, (_, i) => segmentsDoneKey(id, i)));
  m.zrem(BATCHES, id);
  await execAll(m);
}

/** Most recent first. */
export async function listBatchIds(redis: RedisCommands, limit = 20): Promise<string[]> {
  return redis.zrevrange(BATCHES, 0, limit - 1);
}

/** The batch, or an SrError that names the known ones (and the closest, for a typo). */
export async function loadBatch(redis: RedisCommands, id: string, t: RedisTarget): Promise<BatchRecord> {
  const h = await redis.hgetall(batchKey(id));
  if (!h || h['created'] === undefined) {
    const known = await listBatchIds(redis, 50);
    const near = closest(id, known);
    const list = known.length === 0 ? 'there are no batches there; add one with srgan queue add' : `recent batches: ${known.slice(0, 5).join(', ')}`;
    throw new SrError(`no batch '${id}' at ${t.label}${near ? `; did you mean ${near}?` : ''} (${list})`);
  }
  const items = (await redis.lrange(itemsKey(id), 0, -1)).map((s) => JSON.parse(s) as BatchItem);
  return {
    id,
    created: Number(h['created']),
    out: h['out'] ?? '',
    options: JSON.parse(h['options'] ?? '{}') as BatchOptions,
    items,
    state: h['state'] === 'queued' ? 'queued' : 'adding',
    cancelled: h['cancelled'] === '1',
  };
}

/** Whether the batch was cancelled, or no longer exists (both stop its jobs). */
export async function batchStopped(redis: RedisCommands, id: string): Promise<'cancelled' | 'gone' | null> {
  const v = await redis.hget(batchKey(id), 'cancelled');
  return v === null ? 'gone' : v === '1' ? 'cancelled' : null;
}

/** The options and one item of a batch (a worker needs no more to queue a video's join). */
export async function loadBatchItem(redis: RedisCommands, id: string, item: number): Promise<{ options: BatchOptions; item: BatchItem } | null> {
  const [options, raw] = await Promise.all([redis.hget(batchKey(id), 'options'), redis.lindex(itemsKey(id), item)]);
  if (options === null || raw === null) return null;
  return { options: JSON.parse(options) as BatchOptions, item: JSON.parse(raw) as BatchItem };
}

/** Whether segment `index` of video item `item` was already done (by an earlier attempt). */
export async function isSegmentDone(redis: RedisCommands, id: string, item: number, index: number): Promise<boolean> {
  return (await redis.sismember(segmentsDoneKey(id, item), String(index))) === 1;
}

/** Marks segment `index` of video item `item` done; returns how many of its segments are done. */
export async function segmentDone(redis: RedisCommands, id: string, item: number, index: number): Promise<number> {
  await redis.sadd(segmentsDoneKey(id, item), String(index));
  return redis.scard(segmentsDoneKey(id, item));
}

async function execAll(m: ReturnType<RedisCommands['multi']>): Promise<void> {
  const r = await m.exec();
  const failed = r?.find(([err]) => err !== null);
  if (r === null) throw new Error('the Redis transaction was discarded');
  if (failed) throw failed[0]!;
}
