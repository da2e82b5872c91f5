// The MOS study's SQLite database: items (every image a rater may see), raters, ratings.
// WAL with synchronous=FULL, so an answered POST is on disk before the next page is shown and a
// crash or restart of the server loses nothing that a rater was told was saved. Every write is
// one transaction; constraints in the schema (score range, one rating per rater and item, known
// items only) back the server's own checks, so a request that slips past them still changes nothing.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { SrError } from '../util/errors.js';

export const SCHEMA_VERSION = 1;

export type ItemRole = 'study' | 'calibration-low' | 'calibration-high';

export interface ItemRow {
  id: string;
  image: string;
  method: string;
  role: ItemRole;
  file: string;
}

export interface RaterRow {
  id: number;
  token: string;
  seed: number;
  created_at: string;
  calibrated_at: string | null;
}

export interface RatingRow {
  rater_id: number;
  item_id: string;
  image: string;
  method: string;
  score: number;
  rated_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  id TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  method TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('study', 'calibration-low', 'calibration-high')),
  file TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS raters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token TEXT NOT NULL UNIQUE,
  seed INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  calibrated_at TEXT
);
CREATE TABLE IF NOT EXISTS ratings (
  rater_id INTEGER NOT NULL REFERENCES raters(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  image TEXT NOT NULL,
  method TEXT NOT NULL,
  score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
  rated_at TEXT NOT NULL,
  PRIMARY KEY (rater_id, item_id)
);
`;

export class StudyDb {
  readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (creating when asked) the database; SrError when it is missing, locked or not ours. */
  static open(path: string, opts: { create?: boolean; readonly?: boolean } = {}): StudyDb {
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: !opts.create, readonly: opts.readonly ?? false, timeout: 5000 });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new SrError(`cannot open the study database ${path}: ${/unable to open|does not exist/i.test(msg) ? 'no such file' : msg}`, { cause: err });
    }
    try {
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
      }
      db.pragma('foreign_keys = ON');
      if (opts.create) db.exec(SCHEMA);
      const v = db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined;
      if (opts.create && !v) db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
      else if (!v || Number(v.value) !== SCHEMA_VERSION) {
        throw new SrError(`${path} is not a MOS study database of this version (schema ${v?.value ?? 'missing'}, expected ${SCHEMA_VERSION})`);
      }
    } catch (err) {
      db.close();
      if (err instanceof SrError) throw err;
      throw new SrError(`${path} is not a usable MOS study database: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return new StudyDb(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  insertItems(items: readonly ItemRow[]): void {
    const ins = this.db.prepare('INSERT INTO items (id, image, method, role, file) VALUES (@id, @image, @method, @role, @file)');
    this.db.transaction(() => {
      for (const it of items) ins.run(it);
    })();
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  items(): ItemRow[] {
    return this.db.prepare('SELECT id, image, method, role, file FROM items ORDER BY rowid').all() as ItemRow[];
  }

  raterByToken(token: string): RaterRow | undefined {
    return this.db.prepare('SELECT id, token, seed, created_at, calibrated_at FROM raters WHERE token = ?').get(token) as RaterRow | undefined;
  }

  /** A new rater with a secret token (the cookie) and a seed for their private image order. */
  createRater(now = new Date()): RaterRow {
    const token = randomBytes(16).toString('hex');
    const seed = randomBytes(4).readUInt32LE(0);
    const at = now.toISOString();
    const r = this.db.prepare('INSERT INTO raters (token, seed, created_at, calibrated_at) VALUES (?, ?, ?, ?)').run(token, seed, at, at);
    return { id: Number(r.lastInsertRowid), token, seed, created_at: at, calibrated_at: at };
  }

  ratedItemIds(raterId: number): Set<string> {
    const rows = this.db.prepare('SELECT item_id FROM ratings WHERE rater_id = ?').all(raterId) as Array<{ item_id: string }>;
    return new Set(rows.map((r) => r.item_id));
  }

  /**
   * Stores one rating. Returns false (and writes nothing) when this rater already rated the item;
   * the caller has checked that the item exists and is a study item and that the score is 1..5.
   */
  addRating(raterId: number, item: ItemRow, score: number, now = new Date()): boolean {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO ratings (rater_id, item_id, image, method, score, rated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(raterId, item.id, item.image, item.method, score, now.toISOString());
    return r.changes === 1;
  }

  ratings(): RatingRow[] {
    return this.db.prepare('SELECT rater_id, item_id, image, method, score, rated_at FROM ratings ORDER BY rated_at, rater_id, item_id').all() as RatingRow[];
  }

  counts(): { raters: number; ratings: number } {
    const r = this.db.prepare('SELECT (SELECT COUNT(*) FROM raters) AS raters, (SELECT COUNT(*) FROM ratings) AS ratings').get() as { raters: number; ratings: number };
    return r;
  }
}
