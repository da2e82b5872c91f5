// The rater's pages, rendered on the server as plain HTML forms: they work with scripts off, and
// the only thing a page says about an image is its opaque id. Method names never appear here;
// the tests check the HTML for them.
import { escapeHtml as esc } from '../util/http.js';

/** The paper's absolute category rating scale (Ledig et al. 2017, section 3.4). */
export const SCALE_LABELS = ['bad', 'poor', 'fair', 'good', 'excellent'] as const;

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 0; background: #808080; color: #111; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 12px 20px; }
header { display: flex; justify-content: space-between; align-items: baseline; }
h1 { font-size: 1.3rem; margin: 0; }
.card { background: #f4f4f4; border-radius: 8px; padding: 16px 20px; margin: 12px 0; }
.pic { text-align: center; overflow: auto; }
/* shown at 1:1: scaling in the browser would be a resampling the methods did not do */
.pic img { max-width: none; image-rendering: auto; display: inline-block; }
.scores { display: flex; gap: 10px; justify-content: center; flex-wrap: wrap; margin: 16px 0; }
.scores button { font-size: 1.05rem; padding: 10px 18px; min-width: 120px; border-radius: 6px; border: 1px solid #444; background: #fff; cursor: pointer; }
.scores button:hover, .scores button:focus { background: #ffe08a; }
.calib { display: flex; gap: 24px; justify-content: center; flex-wrap: wrap; }
.calib figure { margin: 0; text-align: center; }
.calib img { max-width: none; } /* 1:1, as the images to rate are shown */
.bar { height: 8px; background: #ddd; border-radius: 4px; overflow: hidden; }
.bar > div { height: 100%; background: #2a7ae2; }
.muted { color: #555; font-size: 0.9rem; }
code { word-break: break-all; }
.start { font-size: 1.1rem; padding: 10px 24px; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>${body}<script src="/mos.js" type="module"></script></body></html>
`;
}

export function welcomePage(o: { calibrationLow: string; calibrationHigh: string; total: number }): string {
  return layout(
    'Image quality study',
    `<header><h1>Image quality study</h1><span class="muted">${o.total} images</span></header>
<main>
<div class="card">
<p>You will see ${o.total} photographs one at a time, in an order of your own. Rate the <b>quality</b> of each on a scale from
1 (bad) to 5 (excellent). Look at each image as long as you like; there is no right answer. You may stop at any time and come back later
with the same browser or with your personal link, and continue where you left off.</p>
<p>To calibrate your scale, here are two versions of one photograph: the left one is an example of <b>1 (bad)</b>, the right one of <b>5 (excellent)</b>.</p>
</div>
<div class="card calib">
<figure><img src="/img/${esc(o.calibrationLow)}" alt="example of score 1"><figcaption>score 1: bad</figcaption></figure>
<figure><img src="/img/${esc(o.calibrationHigh)}" alt="example of score 5"><figcaption>score 5: excellent</figcaption></figure>
</div>
<form method="post" action="/start" class="card" style="text-align:center">
<button class="start" type="submit" id="start">Start the study</button>
</form>
</main>`,
  );
}

export function ratePage(o: { token: string; raterId: number; itemId: string; index: number; total: number; resumeUrl: string }): string {
  const buttons = SCALE_LABELS.map((label, i) => `<button type="submit" name="score" value="${i + 1}" data-key="${i + 1}">${i + 1} &middot; ${label}</button>`).join('\n');
  const pct = ((100 * (o.index - 1)) / o.total).toFixed(1);
  return layout(
    `Image ${o.index} of ${o.total}`,
    `<header><h1>Image ${o.index} of ${o.total}</h1><span class="muted">rater #${o.raterId}</span></header>
<main>
<div class="bar" title="${o.index - 1} of ${o.total} rated"><div style="width:${pct}%"></div></div>
<div class="card pic"><img id="subject" src="/img/${esc(o.itemId)}" alt="image to rate"></div>
<form method="post" action="/rate" class="card">
<input type="hidden" name="r" value="${esc(o.token)}">
<input type="hidden" name="item" value="${esc(o.itemId)}">
<div class="scores">${buttons}</div>
<p class="muted" style="text-align:center">Keys 1 to 5 rate too. To continue on another device later, keep your link: <code>${esc(o.resumeUrl)}</code></p>
</form>
</main>`,
  );
}

export function donePage(o: { raterId: number; total: number }): string {
  return layout(
    'Thank you',
    `<header><h1>Thank you</h1><span class="muted">rater #${o.raterId}</span></header>
<main><div class="card"><p id="done">You have rated all ${o.total} images. Your ratings are saved; you can close this page.</p></div></main>`,
  );
}

export function errorPage(status: number, message: string): string {
  return layout(`Error ${status}`, `<main><div class="card"><h1>Error ${status}</h1><p>${esc(message)}</p><p><a href="/">Back to the study</a></p></div></main>`);
}

/** Keys 1..5 press the matching button; a second press while the form is sending does nothing. */
export const MOS_SCRIPT = `
const form = document.querySelector('form[action="/rate"]');
if (form) {
  let sent = false;
  form.addEventListener('submit', (e) => { if (sent) e.preventDefault(); sent = true; });
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || sent) return;
    const b = form.querySelector('button[data-key="' + e.key + '"]');
    if (b) { e.preventDefault(); b.click(); }
  });
}
`;
