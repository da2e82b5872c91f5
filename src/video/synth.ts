// Video sequences synthesised from a still photograph, with their exact optical flow, so that the
// video training modes and their tests need no video files.
//
// Two layers, both rigid, both moving smoothly:
//  - the background is the photo seen by a camera that pans, zooms and rotates a little every
//    frame: frame pixel p of frame t shows the photo at A_t(p) = c0 + t*pan + z^t R(t*rot) (p - pc),
//    pc the frame centre;
//  - optionally a foreground object, an ellipse cut from another place in the same photo, moving
//    across the frame with its own velocity and spin: it shows the photo at
//    anchor + texScale * R(-phi_t) (p - o_t), with o_t = o0 + t*velocity, phi_t = phi0 + t*spin.
// Because both motions are known in closed form, so is the flow between any two frames: a
// background pixel p of frame t is at A_t'^-1(A_t(p)) in frame t', an object pixel at
// o_t' + R(phi_t' - phi_t)(p - o_t). Where the object covers or uncovers the background the
// flow is still exact per layer, and the forward-backward check finds the occlusions.
//
// Colour is sampled from the photo with the Keys cubic (a = -0.5), the object's edge is
// anti-aliased with 2x2 supersampling, and frames are rounded to 8 bits as decoded video is.
import { SrError } from '../util/errors.js';
import type { Image8 } from '../image/image.js';
import type { Flow } from './flow.js';

export interface ObjectMotion {
  /** centre in frame pixels at t = 0 */
  center: [number, number];
  radii: [number, number];
  /** frame pixels per frame */
  velocity: [number, number];
  angle: number;
  /** radians per frame */
  spin: number;
  /** where the object's texture comes from, in photo pixels */
  anchor: [number, number];
  texScale: number;
}

export interface Motion {
  /** camera pan in photo pixels per frame */
  pan: [number, number];
  /** camera zoom factor per frame (1: none; >1 shows more of the photo) */
  zoom: number;
  /** camera rotation in radians per frame */
  rotate: number;
  object?: ObjectMotion;
}

export interface SynthOptions {
  /** largest camera pan, photo pixels per frame (default 3) */
  maxPan?: number;
  /** largest object speed, frame pixels per frame (default 5) */
  maxObjectSpeed?: number;
  /** chance of a static camera (default 0.3) */
  staticCamera?: number;
  /** chance of a moving object (default 0.7) */
  object?: number;
}

/** Random smooth motion for a width x height frame, drawn from `rand` (uniform in [0, 1)). */
export function randomMotion(rand: () => number, width: number, height: number, o: SynthOptions = {}): Motion {
  const maxPan = o.maxPan ?? 3;
  const maxObj = o.maxObjectSpeed ?? 5;
  const u = (a: number, b: number) => a + (b - a) * rand();
  let pan: [number, number] = [0, 0];
  let zoom = 1;
  let rotate = 0;
  if (rand() >= (o.staticCamera ?? 0.3)) {
    const speed = u(0.3, maxPan);
    const dir = u(0, 2 * Math.PI);
    pan = [speed * Math.cos(dir), speed * Math.sin(dir)];
    if (rand() < 0.5) zoom = 1 + u(-0.015, 0.015);
    if (rand() < 0.5) rotate = u(-0.01, 0.01);
  }
  const m: Motion = { pan, zoom, rotate };
  if (rand() < (o.object ?? 0.7)) {
    const side = Math.min(width, height);
    const speed = u(1, maxObj);
    const dir = u(0, 2 * Math.PI);
    m.object = {
      center: [u(0.25, 0.75) * width, u(0.25, 0.75) * height],
      radii: [u(0.15, 0.35) * side, u(0.15, 0.35) * side],
      velocity: [speed * Math.cos(dir), speed * Math.sin(dir)],
      angle: u(0, Math.PI),
      spin: u(-0.03, 0.03),
      anchor: [NaN, NaN], // placed against the photo by renderSequence
      texScale: u(0.8, 1.25),
    };
  }
  return m;
}

export interface SynthSequence {
  frames: Image8[];
  /** forward[t]: flow from frame t to t+1 */
  forward: Flow[];
  /** backward[t]: flow from frame t+1 to t */
  backward: Flow[];
  motion: Motion;
  /** camera centre in the photo at t = 0 */
  origin: [number, number];
}

function keys(x: number): number {
  const a = Math.abs(x);
  if (a <= 1) return 1.5 * a * a * a - 2.5 * a * a + 1;
  if (a < 2) return -0.5 * a * a * a + 2.5 * a * a - 4 * a + 2;
  return 0;
}

/** Cubic sample of an RGB uint8 photo at (x, y), borders clamped; writes 3 floats in 0..255. */
function sampleCubic(src: Image8, x: number, y: number, out: Float64Array): void {
  const { width: w, height: h, data } = src;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  out[0] = out[1] = out[2] = 0;
  for (let j = -1; j <= 2; j++) {
    const wy = keys(y - (y0 + j));
    if (wy === 0) continue;
    const yy = Math.min(h - 1, Math.max(0, y0 + j));
    for (let i = -1; i <= 2; i++) {
      const wgt = wy * keys(x - (x0 + i));
      if (wgt === 0) continue;
      const xx = Math.min(w - 1, Math.max(0, x0 + i));
      const k = (yy * w + xx) * 3;
      out[0] += wgt * data[k]!;
      out[1] += wgt * data[k + 1]!;
      out[2] += wgt * data[k + 2]!;
    }
  }
}

interface Camera {
  /** frame -> photo */
  fwd(t: number, x: number, y: number): [number, number];
  /** photo -> frame */
  inv(t: number, x: number, y: number): [number, number];
}

function camera(m: Motion, origin: [number, number], pc: [number, number]): Camera {
  return {
    fwd(t, x, y) {
      const s = m.zoom ** t;
      const c = Math.cos(m.rotate * t) * s;
      const n = Math.sin(m.rotate * t) * s;
      const dx = x - pc[0];
      const dy = y - pc[1];
      return [origin[0] + t * m.pan[0] + c * dx - n * dy, origin[1] + t * m.pan[1] + n * dx + c * dy];
    },
    inv(t, x, y) {
      const s = m.zoom ** t;
      const c = Math.cos(m.rotate * t) / s;
      const n = Math.sin(m.rotate * t) / s;
      const dx = x - origin[0] - t * m.pan[0];
      const dy = y - origin[1] - t * m.pan[1];
      return [pc[0] + c * dx + n * dy, pc[1] - n * dx + c * dy];
    },
  };
}

/** Object-local coordinates of frame point (x, y) at time t. */
function objectLocal(ob: ObjectMotion, t: number, x: number, y: number): [number, number] {
  const phi = ob.angle + t * ob.spin;
  const dx = x - (ob.center[0] + t * ob.velocity[0]);
  const dy = y - (ob.center[1] + t * ob.velocity[1]);
  const c = Math.cos(phi);
  const s = Math.sin(phi);
  return [c * dx + s * dy, -s * dx + c * dy];
}

function objectToFrame(ob: ObjectMotion, t: number, u: number, v: number): [number, number] {
  const phi = ob.angle + t * ob.spin;
  const c = Math.cos(phi);
  const s = Math.sin(phi);
  return [ob.center[0] + t * ob.velocity[0] + c * u - s * v, ob.center[1] + t * ob.velocity[1] + s * u + c * v];
}

function inside(ob: ObjectMotion, u: number, v: number): boolean {
  return (u / ob.radii[0]) ** 2 + (v / ob.radii[1]) ** 2 <= 1;
}

/**
 * Places the camera (and the object's texture) in the photo so that every frame stays inside it,
 * halving the camera motion until it fits; `rand` chooses among the places that fit.
 */
function place(photo: Image8, width: number, height: number, frames: number, motion: Motion, rand: () => number): { motion: Motion; origin: [number, number] } {
  const pc: [number, number] = [(width - 1) / 2, (height - 1) / 2];
  let m = { ...motion };
  for (let attempt = 0; attempt < 12; attempt++) {
    const cam = camera(m, [0, 0], pc);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let t = 0; t < frames; t++) {
      for (const [x, y] of [[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]] as const) {
        const [qx, qy] = cam.fwd(t, x, y);
        minX = Math.min(minX, qx);
        maxX = Math.max(maxX, qx);
        minY = Math.min(minY, qy);
        maxY = Math.max(maxY, qy);
      }
    }
    const lo: [number, number] = [2 - minX, 2 - minY];
    const hi: [number, number] = [photo.width - 3 - maxX, photo.height - 3 - maxY];
    if (hi[0] >= lo[0] && hi[1] >= lo[1]) {
      const origin: [number, number] = [lo[0] + (hi[0] - lo[0]) * rand(), lo[1] + (hi[1] - lo[1]) * rand()];
      if (m.object) {
        const r = Math.max(...m.object.radii) * m.object.texScale + 2;
        const ax = photo.width > 2 * r + 4 ? r + 2 + (photo.width - 2 * r - 5) * rand() : photo.width / 2;
        const ay = photo.height > 2 * r + 4 ? r + 2 + (photo.height - 2 * r - 5) * rand() : photo.height / 2;
        m = { ...m, object: { ...m.object, anchor: [ax, ay] } };
      }
      return { motion: m, origin };
    }
    m = attempt < 10 ? { ...m, pan: [m.pan[0] / 2, m.pan[1] / 2], zoom: 1 + (m.zoom - 1) / 2, rotate: m.rotate / 2 } : { ...m, pan: [0, 0], zoom: 1, rotate: 0 };
  }
  throw new SrError(`a ${width}x${height} frame does not fit in the ${photo.width}x${photo.height} photo`);
}

const SUB = [-0.25, 0.25];

/** Renders `frames` frames of `width` x `height` from an RGB photo, with exact flows between neighbours. */
export function renderSequence(photo: Image8, width: number, height: number, frames: number, motion: Motion, rand: () => number): SynthSequence {
  if (photo.channels !== 3) throw new SrError('synthetic sequences need an RGB photo');
  if (frames < 1) throw new SrError('a sequence needs at least one frame');
  const placed = place(photo, width, height, frames, motion, rand);
  const m = placed.motion;
  const pc: [number, number] = [(width - 1) / 2, (height - 1) / 2];
  const cam = camera(m, placed.origin, pc);
  const ob = m.object;
  const n = width * height;
  const rgb = new Float64Array(3);
  const rgbO = new Float64Array(3);
  const out: Image8[] = [];
  /** per frame: 1 where the pixel centre belongs to the object */
  const layer: Uint8Array[] = [];
  for (let t = 0; t < frames; t++) {
    const data = new Uint8Array(n * 3);
    const lay = new Uint8Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [qx, qy] = cam.fwd(t, x, y);
        sampleCubic(photo, qx, qy, rgb);
        let cover = 0;
        if (ob) {
          for (const sy of SUB) for (const sx of SUB) if (inside(ob, ...objectLocal(ob, t, x + sx, y + sy))) cover += 0.25;
          const [u, v] = objectLocal(ob, t, x, y);
          if (inside(ob, u, v)) lay[y * width + x] = 1;
          if (cover > 0) {
            sampleCubic(photo, ob.anchor[0] + ob.texScale * u, ob.anchor[1] + ob.texScale * v, rgbO);
            for (let k = 0; k < 3; k++) rgb[k] = cover * rgbO[k]! + (1 - cover) * rgb[k]!;
          }
        }
        const i = (y * width + x) * 3;
        for (let k = 0; k < 3; k++) data[i + k] = Math.min(255, Math.max(0, Math.round(rgb[k]!)));
      }
    }
    out.push({ width, height, channels: 3, data });
    layer.push(lay);
  }
  const flowBetween = (t: number, t2: number): Flow => {
    const u = new Float32Array(n);
    const v = new Float32Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        let px: number;
        let py: number;
        if (ob && layer[t]![i]) {
          const [a, b] = objectLocal(ob, t, x, y);
          [px, py] = objectToFrame(ob, t2, a, b);
        } else {
          const [qx, qy] = cam.fwd(t, x, y);
          [px, py] = cam.inv(t2, qx, qy);
        }
        u[i] = px - x;
        v[i] = py - y;
      }
    }
    return { u, v, width, height };
  };
  const forward: Flow[] = [];
  const backward: Flow[] = [];
  for (let t = 0; t + 1 < frames; t++) {
    forward.push(flowBetween(t, t + 1));
    backward.push(flowBetween(t + 1, t));
  }
  return { frames: out, forward, backward, motion: m, origin: placed.origin };
}
