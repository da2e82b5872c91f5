// The studio page: picks or receives an image, checks and decodes it, hands the pixels to the
// worker, and shows bicubic and model output side by side with a draggable divider, a zoom lens,
// the alpha dial and a download button. Tests read `document.body.dataset.state`
// ('ready', 'running', 'done', 'error') to know where the page is.
import type { Catalog, FromWorker, ModelInfo, ModelRef, ToWorker } from './protocol.js';
import { DEFAULT_OVERLAP, DEFAULT_TILE } from '../../inference/tiling.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
};

const fileInput = $<HTMLInputElement>('file');
const drop = $<HTMLLabelElement>('drop');
const modelSelect = $<HTMLSelectElement>('model');
const dialBox = $<HTMLDivElement>('dialBox');
const alphaInput = $<HTMLInputElement>('alpha');
const alphaOut = $<HTMLOutputElement>('alphaOut');
const lensToggle = $<HTMLInputElement>('lensToggle');
const downloadBtn = $<HTMLButtonElement>('download');
const message = $<HTMLDivElement>('message');
const progress = $<HTMLProgressElement>('progress');
const statusText = $<HTMLSpanElement>('statusText');
const compare = $<HTMLDivElement>('compare');
const before = $<HTMLCanvasElement>('before');
const after = $<HTMLCanvasElement>('after');
const divider = $<HTMLDivElement>('divider');
const afterTag = $<HTMLSpanElement>('afterTag');
const lens = $<HTMLCanvasElement>('lens');
const info = $<HTMLParagraphElement>('info');

const params = new URLSearchParams(location.search);
const intParam = (name: string, def: number, lo: number, hi: number): number => {
  const raw = params.get(name);
  if (raw === null) return def;
  const v = Number(raw);
  return Number.isInteger(v) && v >= lo && v <= hi ? v : def;
};
// The CLI's measured defaults (inference/tiling.ts); the tiler needs a tile at least 3x the overlap.
const TILE = intParam('tile', DEFAULT_TILE, 16, 512);
const OVERLAP = intParam('overlap', Math.min(DEFAULT_OVERLAP, Math.floor(TILE / 3)), 0, Math.floor(TILE / 3));
const BACKEND = (['wasm', 'webgpu'] as const).find((b) => b === params.get('backend')) ?? 'auto';
const DIAL = '__dial';

class UserError extends Error {}

let catalog: Catalog | undefined;
let input: { name: string; width: number; height: number; rgba: Uint8ClampedArray } | undefined;
let job = 0;
let split = 0.5;
let resultName = '';

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

function setState(s: 'ready' | 'running' | 'done' | 'error'): void {
  document.body.dataset['state'] = s;
}

function showError(text: string): void {
  message.textContent = text;
  message.hidden = false;
  setState('error');
}

function clearError(): void {
  message.hidden = true;
  message.textContent = '';
}

function status(text: string, value?: number): void {
  statusText.textContent = text;
  if (value === undefined) progress.removeAttribute('value');
  else progress.value = value;
}

/** Megapixels for photographs, plain counts for small limits (a test lowers the limit). */
function pixels(n: number): string {
  return n >= 100_000 ? `${(n / 1e6).toFixed(2)} MP` : `${n.toLocaleString('en')} pixels`;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

// ---------------------------------------------------------------------------------------------
// Models

function selectedModel(): { ref: ModelRef; label: string; slug: string } | undefined {
  if (!catalog) return undefined;
  if (modelSelect.value === DIAL && catalog.dial) {
    const from = catalog.models.find((m) => m.id === catalog!.dial!.from)!;
    const a = Number(alphaInput.value);
    // The end points are the plain models, so their sessions are shared with the model choices.
    const url = a === 0 ? from.url : a === 1 ? catalog.models.find((m) => m.id === catalog!.dial!.to)!.url : `${catalog.dial.url}?alpha=${a.toFixed(2)}`;
    return { ref: { url, layout: from.layout, outputRange: from.outputRange, scale: from.scale }, label: `alpha ${a.toFixed(2)}`, slug: `alpha${a.toFixed(2)}` };
  }
  const m = catalog.models.find((x) => x.id === modelSelect.value);
  if (!m) return undefined;
  return { ref: { url: m.url, layout: m.layout, outputRange: m.outputRange, scale: m.scale }, label: m.label, slug: m.id };
}

function fillModels(c: Catalog): void {
  modelSelect.textContent = '';
  if (c.dial) {
    const o = document.createElement('option');
    o.value = DIAL;
    o.textContent = `${c.dial.from} \u2194 ${c.dial.to} (alpha dial)`;
    modelSelect.append(o);
  }
  for (const m of c.models) {
    const o = document.createElement('option');
    o.value = m.id;
    o.textContent = m.label;
    o.title = m.note ?? '';
    modelSelect.append(o);
  }
  dialBox.hidden = modelSelect.value !== DIAL;
  if (c.dial) $('dialNote').textContent = c.dial.note;
}

async function loadCatalog(): Promise<void> {
  const res = await fetch('/models/index.json');
  if (!res.ok) throw new UserError(`the server has no models to offer (${res.status})`);
  catalog = (await res.json()) as Catalog;
  if (catalog.models.length === 0) throw new UserError('the server has no models to offer');
  fillModels(catalog);
}

// ---------------------------------------------------------------------------------------------
// Input

function imageFromUrl(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('decode'));
    img.src = url;
  });
}

async function decodeFile(file: File): Promise<NonNullable<typeof input>> {
  const limits = catalog!.limits;
  if (file.size === 0) throw new UserError(`${file.name} is empty (0 bytes), not an image`);
  if (file.size > limits.maxFileBytes) throw new UserError(`${file.name} is ${mb(file.size)}; the studio takes files up to ${mb(limits.maxFileBytes)}`);
  if (file.type && !file.type.startsWith('image/')) throw new UserError(`${file.name} is not an image (${file.type}); use PNG, JPEG, WebP or GIF`);
  const url = URL.createObjectURL(file);
  try {
    let img: HTMLImageElement;
    try {
      img = await imageFromUrl(url);
    } catch {
      throw new UserError(`${file.name} could not be decoded: it is not an image this browser reads, or it is damaged`);
    }
    const w = img.naturalWidth;
    const h = img.naturalHeight;
    if (!(w > 0 && h > 0)) throw new UserError(`${file.name} could not be decoded (it reports no size)`);
    if (w * h > limits.maxPixels || Math.max(w, h) > limits.maxSide) {
      throw new UserError(
        `${file.name} is too large: ${w}\u00d7${h} (${pixels(w * h)}). The studio upscales images up to ${pixels(limits.maxPixels)} and ${limits.maxSide} px a side; crop or shrink it first.`,
      );
    }
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(img, 0, 0);
    return { name: file.name, width: w, height: h, rgba: ctx.getImageData(0, 0, w, h).data };
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function takeFile(file: File | undefined): Promise<void> {
  if (!file || !catalog) return;
  clearError();
  try {
    input = await decodeFile(file);
  } catch (err) {
    input = undefined;
    compare.hidden = true;
    downloadBtn.disabled = true;
    showError(err instanceof UserError ? err.message : `could not read ${file.name}: ${String(err)}`);
    status('Choose an image', 0);
    return;
  }
  run();
}

// ---------------------------------------------------------------------------------------------
// Upscaling

function run(): void {
  const model = selectedModel();
  if (!input || !model) return;
  if (job > 0) worker.postMessage({ type: 'cancel', job } satisfies ToWorker);
  job++;
  clearError();
  setState('running');
  downloadBtn.disabled = true;
  resultName = `${input.name.replace(/\.[^.]*$/, '')}-x${model.ref.scale}-${model.slug}.png`;
  afterTag.textContent = model.label;
  status('starting', 0);
  const msg: ToWorker = { type: 'upscale', job, model: model.ref, width: input.width, height: input.height, rgba: input.rgba.slice(), tile: TILE, overlap: OVERLAP, backend: BACKEND };
  worker.postMessage(msg, [msg.rgba.buffer]);
}

function paint(canvas: HTMLCanvasElement, w: number, h: number, rgba: Uint8ClampedArray): void {
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.length), w, h), 0, 0);
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.job !== job) return; // an answer to a superseded request
  switch (m.type) {
    case 'status':
      status(m.text);
      break;
    case 'bicubic':
      paint(before, m.width, m.height, m.rgba);
      after.width = m.width;
      after.height = m.height; // cleared: the model's result replaces it when done
      compare.hidden = false;
      break;
    case 'progress':
      status(`tile ${m.done} of ${m.total}`, m.done / m.total);
      break;
    case 'result': {
      paint(after, m.width, m.height, m.rgba);
      status(`done in ${m.seconds.toFixed(2)} s on ${m.backend.toUpperCase()}`, 1);
      info.textContent = `${input!.name}: ${input!.width}\u00d7${input!.height} \u2192 ${m.width}\u00d7${m.height}; left of the divider bicubic, right ${afterTag.textContent}. Tiles of ${TILE} px with ${OVERLAP} px feathered overlap.`;
      downloadBtn.disabled = false;
      document.body.dataset['backend'] = m.backend;
      setState('done');
      break;
    }
    case 'error':
      if (m.cancelled) return;
      showError(`upscaling failed: ${m.message}`);
      status('failed', 0);
      break;
  }
};
worker.onerror = (e) => {
  showError(`the upscaling worker could not start: ${e.message || 'see the browser console'}`);
};

// ---------------------------------------------------------------------------------------------
// Comparison, lens, download

function setSplit(v: number): void {
  split = Math.min(1, Math.max(0, v));
  compare.style.setProperty('--split', String(split));
  divider.setAttribute('aria-valuenow', String(Math.round(split * 100)));
}

let dragging = false;
compare.addEventListener('pointerdown', (e) => {
  dragging = true;
  compare.setPointerCapture(e.pointerId);
  const r = compare.getBoundingClientRect();
  setSplit((e.clientX - r.left) / r.width);
});
compare.addEventListener('pointerup', () => (dragging = false));
compare.addEventListener('pointercancel', () => (dragging = false));
compare.addEventListener('pointermove', (e) => {
  const r = compare.getBoundingClientRect();
  if (dragging) setSplit((e.clientX - r.left) / r.width);
  drawLens(e.clientX - r.left, e.clientY - r.top, r);
});
compare.addEventListener('pointerleave', () => (lens.style.display = 'none'));
divider.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowLeft') setSplit(split - 0.02);
  else if (e.key === 'ArrowRight') setSplit(split + 0.02);
  else return;
  e.preventDefault();
});

/** Shows, three times enlarged, what is under the pointer on both sides of the divider. */
function drawLens(px: number, py: number, r: DOMRect): void {
  if (!lensToggle.checked || before.width === 0) {
    lens.style.display = 'none';
    return;
  }
  const zoom = 3;
  const size = lens.width;
  const k = before.width / r.width; // image pixels per CSS pixel
  const src = size / zoom; // image pixels shown
  const sx = px * k - src / 2;
  const sy = py * k - src / 2;
  const ctx = lens.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, size, size);
  const cut = Math.min(size, Math.max(0, (split * before.width - sx) * zoom)); // divider, in lens pixels
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, 0, cut, size);
  ctx.clip();
  ctx.drawImage(before, sx, sy, src, src, 0, 0, size, size);
  ctx.restore();
  ctx.save();
  ctx.beginPath();
  ctx.rect(cut, 0, size - cut, size);
  ctx.clip();
  ctx.drawImage(after, sx, sy, src, src, 0, 0, size, size);
  ctx.restore();
  lens.style.display = 'block';
  lens.style.left = `${px + 24}px`;
  lens.style.top = `${py - size / 2}px`;
}

downloadBtn.addEventListener('click', () => {
  after.toBlob((blob) => {
    if (!blob) {
      showError('the browser could not encode the result as PNG');
      return;
    }
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = resultName;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
});

// ---------------------------------------------------------------------------------------------
// Wiring

fileInput.addEventListener('change', () => void takeFile(fileInput.files?.[0]));
for (const ev of ['dragenter', 'dragover'] as const) {
  drop.addEventListener(ev, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
}
for (const ev of ['dragleave', 'drop'] as const) drop.addEventListener(ev, () => drop.classList.remove('over'));
// A drop anywhere on the page counts (the drop zone's event bubbles up to here), and none
// navigates away from it.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  void takeFile(e.dataTransfer?.files[0]);
});
modelSelect.addEventListener('change', () => {
  dialBox.hidden = modelSelect.value !== DIAL;
  run();
});
alphaInput.addEventListener('input', () => (alphaOut.value = Number(alphaInput.value).toFixed(2)));
// The dial re-runs when it is let go, not on every step it passes.
alphaInput.addEventListener('change', () => run());

loadCatalog()
  .then(() => {
    status('Choose an image', 0);
    setState('ready');
  })
  .catch((err: unknown) => {
    showError(err instanceof UserError ? err.message : `could not reach the studio server: ${String(err)}`);
  });

export {};
