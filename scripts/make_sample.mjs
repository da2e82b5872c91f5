#!/usr/bin/env node
// Makes examples/sample.png, the input of the README's first command. It is drawn here (an SVG
// scene with turbulence textures for grass and bark, bricks and lettering, rendered large and
// shrunk x4) so the repo ships no third-party photo and no copy of the benchmark data.
import sharp from 'sharp';

const W = 768;
const H = 512;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#3a6fb0"/><stop offset="1" stop-color="#cfe3f5"/>
    </linearGradient>
    <filter id="grass" x="0" y="0" width="100%" height="100%">
      <feTurbulence type="fractalNoise" baseFrequency="0.02 0.35" numOctaves="4" seed="3"/>
      <feColorMatrix values="0 0 0 0.25 0.1  0 0 0 0.6 0.2  0 0 0 0.1 0.03  0 0 0 0 1"/>
    </filter>
    <filter id="bark" x="0" y="0" width="100%" height="100%">
      <feTurbulence type="turbulence" baseFrequency="0.25 0.02" numOctaves="3" seed="8"/>
      <feColorMatrix values="0.5 0 0 0 0.25  0.35 0 0 0 0.15  0.2 0 0 0 0.08  0 0 0 0 1"/>
    </filter>
    <pattern id="bricks" width="64" height="32" patternUnits="userSpaceOnUse">
      <rect width="64" height="32" fill="#d8d2c4"/>
      <rect x="2" y="2" width="60" height="12" fill="#a5482f"/>
      <rect x="-30" y="18" width="60" height="12" fill="#9b3f28"/>
      <rect x="34" y="18" width="60" height="12" fill="#b04e33"/>
    </pattern>
    <clipPath id="crown"><circle cx="157" cy="120" r="90"/></clipPath>
  </defs>
  <rect width="${W}" height="${H}" fill="url(#sky)"/>
  <circle cx="640" cy="90" r="46" fill="#fff4c2"/>
  <path d="M0 300 Q 200 200 420 290 T 768 260 V 512 H 0 Z" fill="#5c7a3a"/>
  <rect x="0" y="330" width="${W}" height="182" filter="url(#grass)"/>
  <rect x="430" y="150" width="300" height="230" fill="url(#bricks)"/>
  <rect x="520" y="250" width="70" height="130" fill="#3b2a1e"/>
  <rect x="140" y="120" width="34" height="240" filter="url(#bark)"/>
  <circle cx="157" cy="120" r="90" fill="#2f6b2a" opacity="0.9"/>
  <g clip-path="url(#crown)" opacity="0.5"><rect x="60" y="20" width="200" height="200" filter="url(#grass)"/></g>
  <circle cx="110" cy="150" r="55" fill="#3d7d33" opacity="0.9"/>
  <text x="40" y="470" font-family="DejaVu Sans, sans-serif" font-size="56" font-weight="bold" fill="#ffffff" stroke="#1b1b1b" stroke-width="3">srgan-js x4</text>
</svg>`;

const out = process.argv[2] ?? 'examples/sample.png';
await sharp(Buffer.from(svg)).resize(W / 4, H / 4, { kernel: 'cubic' }).png({ compressionLevel: 9 }).toFile(out);
process.stdout.write(`${out}\n`);
