// The studio's HTML and CSS. Kept in a module (not a file beside it) so the server finds it in the
// compiled package without a copy step; the behaviour is in client/studio.ts.

export const STUDIO_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>srgan-js studio</title>
<link rel="icon" href="data:,">
<style>
:root { --split: 0.5; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font-family: system-ui, sans-serif; background: #1d1f23; color: #e8e8e8; }
header { padding: 14px 22px; background: #26292f; display: flex; gap: 16px; align-items: baseline; }
header h1 { margin: 0; font-size: 1.25rem; }
header span { color: #9aa0aa; font-size: 0.9rem; }
main { padding: 16px 22px; max-width: 1400px; margin: 0 auto; }
#controls { display: flex; flex-wrap: wrap; gap: 14px 22px; align-items: center; }
.drop { border: 2px dashed #5d6470; border-radius: 8px; padding: 14px 18px; cursor: pointer; }
.drop.over { border-color: #5aa9ff; background: #25354a; }
.drop input { color: #ccc; }
select, button { font: inherit; padding: 5px 10px; border-radius: 5px; border: 1px solid #555; background: #2f333a; color: #eee; }
button:disabled { opacity: 0.45; }
#dialBox { display: flex; gap: 8px; align-items: center; }
#dialBox small { color: #9aa0aa; max-width: 260px; line-height: 1.2; }
#alpha { width: 180px; }
#message { margin: 12px 0; padding: 10px 14px; border-radius: 6px; background: #5b1f24; color: #ffd9d9; }
#status { display: flex; gap: 12px; align-items: center; margin: 12px 0; color: #b8bec8; }
#progress { width: 260px; height: 12px; }
#compare { position: relative; display: inline-block; max-width: 100%; line-height: 0; user-select: none; touch-action: none; cursor: ew-resize; background: repeating-conic-gradient(#3a3d44 0 25%, #2b2e34 0 50%) 0 0 / 16px 16px; }
#compare canvas.view { max-width: 100%; height: auto; display: block; }
#after { position: absolute; left: 0; top: 0; width: 100%; height: 100%; clip-path: inset(0 0 0 calc(var(--split) * 100%)); }
#divider { position: absolute; top: 0; bottom: 0; left: calc(var(--split) * 100%); width: 2px; margin-left: -1px; background: #fff; box-shadow: 0 0 4px #000; }
#divider span { position: absolute; top: 50%; left: -15px; width: 32px; height: 32px; margin-top: -16px; border-radius: 16px; background: #fff; color: #222; font: 12px/32px sans-serif; text-align: center; }
.tag { position: absolute; top: 8px; padding: 3px 8px; background: rgba(0,0,0,0.6); font: 13px/1.3 sans-serif; border-radius: 4px; pointer-events: none; }
.tag.left { left: 8px; }
.tag.right { right: 8px; }
#lens { position: absolute; width: 180px; height: 180px; border-radius: 50%; border: 2px solid #fff; box-shadow: 0 2px 10px rgba(0,0,0,0.7); pointer-events: none; image-rendering: pixelated; display: none; }
#info { color: #9aa0aa; font-size: 0.9rem; }
</style>
</head>
<body data-state="starting">
<header><h1>srgan-js studio</h1><span>super-resolution in your browser: nothing is uploaded, the model runs on this page</span></header>
<main>
<section id="controls">
  <label class="drop" id="drop">Drop an image here, or pick one: <input type="file" id="file" accept="image/*"></label>
  <label>Model <select id="model"></select></label>
  <div id="dialBox" hidden>
    <label for="alpha">&alpha;</label>
    <input type="range" id="alpha" min="0" max="1" step="0.05" value="1">
    <output id="alphaOut" for="alpha">1.00</output>
    <small id="dialNote">0 = SRResNet (faithful, smoother) &hellip; 1 = SRGAN (sharper, plausible detail)</small>
  </div>
  <label><input type="checkbox" id="lensToggle" checked> zoom lens</label>
  <button id="download" disabled>Download PNG</button>
</section>
<div id="message" role="alert" hidden></div>
<div id="status"><progress id="progress" max="1" value="0"></progress><span id="statusText">Loading&hellip;</span></div>
<div id="compare" hidden>
  <canvas id="before" class="view"></canvas>
  <canvas id="after" class="view"></canvas>
  <div id="divider" role="slider" tabindex="0" aria-label="comparison divider" aria-valuemin="0" aria-valuemax="100" aria-valuenow="50"><span>&#9664;&#9654;</span></div>
  <span class="tag left">bicubic</span><span class="tag right" id="afterTag">model</span>
  <canvas id="lens" width="180" height="180"></canvas>
</div>
<p id="info"></p>
</main>
<script type="module" src="/app/web/client/studio.js"></script>
</body>
</html>
`;
