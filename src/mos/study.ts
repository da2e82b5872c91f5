// A MOS study folder: the images raters see (named by opaque ids, so neither a file name nor a URL
// tells the method), the manifest study.json, and the SQLite database of ratings.
//
//   <study>/study.json       what each id is (image, method); read by the server and the report only
//   <study>/images/<id>.png  the x4 outputs of the benchmark LR, the HR, and the calibration pair
//   <study>/ratings.sqlite   items, raters, ratings (WAL)
//
// The folder is built under a temporary name and renamed into place at the end, so a study either
// exists whole or not at all.
import { mkdir, rename, rm, stat, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { SrError } from '../util/errors.js';
import { writeFileAtomic, tempPathFor, sweepStaleTemps } from '../util/atomic.js';
import { packageVersion } from '../util/package_info.js';
import { listImages, loadImage, saveImage } from '../io/image.js';
import { toUint8, type Image } from '../image/image.js';
import { degrade, modcrop } from '../image/degrade.js';
import { disposeMethods, resolveMethod, type Method } from '../inference/methods.js';
import { StudyDb, type ItemRole, type ItemRow } from './db.js';

export const MANIFEST = 'study.json';
export const DATABASE = 'ratings.sqlite';
export const IMAGES = 'images';
/** The reserved method name of the original high-resolution image. */
export const HR = 'hr';

export interface StudyImage {
  name: string;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface StudyManifest {
  format: 'srgan-js mos study';
  version: 1;
  tool: string;
  created: string;
  scale: number;
  dataset: string;
  protocol: string;
  /** in the order given, 'hr' included */
  methods: string[];
  images: StudyImage[];
  items: ItemRow[];
  calibration: { image: string; low: string; high: string };
}

/** Opaque item ids: 16 hex digits, never derived from the method or the image. */
export const ITEM_ID = /^[0-9a-f]{16}$/;

function newId(taken: Set<string>): string {
  for (;;) {
    const id = randomBytes(8).toString('hex');
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}

export interface CreateOptions {
  /** folder of HR images */
  data: string;
  /** method names as for `srgan eval`, 'hr' allowed (it is always included) */
  methods: string[];
  out: string;
  scale?: number;
  /**
   * Image (or folder: its first image) whose nearest and HR versions calibrate raters. It must not
   * be one of the study's images, by path or by content: a rater who has seen an image labelled
   * "5 = excellent" knows that image's HR when it comes up for rating.
   */
  calibration: string;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Same pixels (after the mod-crop every study image gets), whatever the file's encoding. */
function pixelKey(img: Image): string {
  return createHash('sha256').update(`${img.width}x${img.height}x${img.channels}:`).update(toUint8(img.data)).digest('hex');
}

/** The calibration file: `path` or the first image of that folder, checked to be outside `files`. */
async function calibrationImage(path: string, files: readonly string[], scale: number): Promise<string> {
  if (!path) throw new SrError('--calibration is required: an image (or a folder of them) from outside the study set');
  const isDir = (await stat(path).catch(() => undefined))?.isDirectory() === true;
  const file = isDir ? (await listImages(path))[0]! : path;
  const key = pixelKey(modcrop(await loadImage(file), scale));
  for (const f of files) {
    if (resolve(f) === resolve(file) || pixelKey(modcrop(await loadImage(f), scale)) === key) {
      throw new SrError(`--calibration ${file} is the study image ${basename(f)}: raters would have seen it labelled as an example score; calibrate with an image from outside --data`);
    }
  }
  return file;
}

export async function createStudy(opts: CreateOptions): Promise<StudyManifest> {
  const scale = opts.scale ?? 4;
  if (!(Number.isInteger(scale) && scale >= 2 && scale <= 8)) throw new SrError(`scale must be an integer 2..8, got ${scale}`);
  const out = resolve(opts.out);
  if (await stat(out).catch(() => undefined)) throw new SrError(`${out} already exists; choose another --out (a study is never overwritten: it may hold ratings)`);
  const names = opts.methods.map((m) => m.trim()).filter((m) => m.length > 0);
  if (names.length === 0) throw new SrError('no methods given for the study');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new SrError(`method '${dup}' is listed twice`);
  const methodNames = names.includes(HR) ? names : [...names, HR];
  // Resolve every name before any image work, so a typo fails at once.
  const methods = new Map<string, Method>();
  try {
    for (const n of methodNames) if (n !== HR) methods.set(n, await resolveMethod(n));
    const nearest = methods.get('nearest') ?? (await resolveMethod('nearest'));

    const files = await listImages(opts.data);
    const calibrationFile = await calibrationImage(opts.calibration, files, scale);

    await mkdir(dirname(out), { recursive: true });
    sweepStaleTemps(dirname(out));
    const tmp = tempPathFor(out);
    await mkdir(join(tmp, IMAGES), { recursive: true });
    let db: StudyDb | undefined;
    try {
      const taken = new Set<string>();
      const items: ItemRow[] = [];
      const images: StudyImage[] = [];
      const total = files.length * methodNames.length + 2;
      let done = 0;
      const save = async (img: Image, image: string, method: string, role: ItemRole): Promise<void> => {
        const id = newId(taken);
        const file = `${IMAGES}/${id}.png`;
        await saveImage(img, join(tmp, file));
        items.push({ id, image, method, role, file });
        opts.onProgress?.(++done, total, `${image} ${role === 'study' ? method : role}`);
      };
      const seen = new Set<string>();
      for (const f of files) {
        const name = basename(f);
        if (seen.has(name)) throw new SrError(`two images are named ${name}`);
        seen.add(name);
        const hr = modcrop(await loadImage(f), scale);
        const lr = degrade(hr, scale);
        images.push({ name, width: hr.width, height: hr.height, channels: hr.channels });
        for (const m of methodNames) {
          let sr: Image;
          if (m === HR) sr = hr;
          else {
            sr = await methods.get(m)!.run(lr, { scale });
            if (sr.width !== hr.width || sr.height !== hr.height) {
              throw new SrError(`method '${m}' turned the ${lr.width}x${lr.height} LR of ${name} into ${sr.width}x${sr.height}; x${scale} needs ${hr.width}x${hr.height}`);
            }
          }
          await save(sr, name, m, 'study');
        }
      }
      // Calibration copies get ids of their own: were they study ids, a rater who remembers the
      // calibration URL would know which method a study image is.
      const calName = basename(calibrationFile);
      const calHr = modcrop(await loadImage(calibrationFile), scale);
      await save(await nearest.run(degrade(calHr, scale), { scale }), calName, 'nearest', 'calibration-low');
      await save(calHr, calName, HR, 'calibration-high');

      const manifest: StudyManifest = {
        format: 'srgan-js mos study',
        version: 1,
        tool: `srgan-js ${packageVersion()}`,
        created: new Date().toISOString(),
        scale,
        dataset: basename(resolve(opts.data)),
        protocol: `HR mod-cropped to a multiple of ${scale}; LR = MATLAB imresize(HR, 1/${scale}, bicubic) on uint8; every method upscales that LR x${scale}; 'hr' is the mod-cropped original`,
        methods: methodNames,
        images,
        items,
        calibration: { image: calName, low: items[items.length - 2]!.id, high: items[items.length - 1]!.id },
      };
      db = StudyDb.open(join(tmp, DATABASE), { create: true });
      db.insertItems(items);
      db.setMeta('created', manifest.created);
      db.close();
      db = undefined;
      await writeFileAtomic(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
      await rename(tmp, out);
      return manifest;
    } catch (err) {
      db?.close();
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await disposeMethods(methods.values());
  }
}

export interface Study {
  dir: string;
  manifest: StudyManifest;
  db: StudyDb;
  /** every item by id */
  items: Map<string, ItemRow>;
  /** study items (not calibration), in manifest order */
  studyItems: ItemRow[];
}

/** Opens a study folder: manifest checked against the database, every image file present. */
export async function openStudy(dirArg: string, opts: { readonly?: boolean } = {}): Promise<Study> {
  const dir = resolve(dirArg);
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(`${dir} is not a MOS study (${code === 'ENOENT' ? `no ${MANIFEST}` : String(err)}); make one with 'srgan mos create'`, { cause: err });
  }
  let manifest: StudyManifest;
  try {
    manifest = JSON.parse(text) as StudyManifest;
  } catch (err) {
    throw new SrError(`${join(dir, MANIFEST)} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (manifest.format !== 'srgan-js mos study' || manifest.version !== 1 || !Array.isArray(manifest.items)) {
    throw new SrError(`${join(dir, MANIFEST)} is not a version 1 srgan-js MOS study manifest`);
  }
  const db = StudyDb.open(join(dir, DATABASE), { readonly: opts.readonly });
  try {
    const rows = db.items();
    const items = new Map(rows.map((r) => [r.id, r]));
    if (rows.length !== manifest.items.length || manifest.items.some((m) => {
      const r = items.get(m.id);
      return !r || r.method !== m.method || r.image !== m.image || r.role !== m.role || r.file !== m.file;
    })) {
      throw new SrError(`${dir}: the manifest and the database list different items; the study folder was changed by hand`);
    }
    for (const it of rows) {
      if (!ITEM_ID.test(it.id) || it.file !== `${IMAGES}/${it.id}.png`) throw new SrError(`${dir}: item '${it.id}' has an unexpected file name ${it.file}`);
      if (!(await stat(join(dir, it.file)).catch(() => undefined))?.isFile()) throw new SrError(`${dir}: image ${it.file} is missing`);
    }
    return { dir, manifest, db, items, studyItems: rows.filter((r) => r.role === 'study') };
  } catch (err) {
    db.close();
    throw err;
  }
}
