// The formulations of each convolution gradient (src/graph/conv.ts), timed alone on ONNX Runtime
// for every layer shape of SRResNet x4 and the SRGAN discriminator (not a test). This is the
// measurement behind `chooseFormulation`: it prints, per layer, ms per call of each input- and
// filter-gradient formulation, alternating them in rounds, and marks the fastest.
//
//   npm run build && node dist/bench/conv_formulations.js [--batch 8] [--threads 1] [--rounds 3]
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/graph/builder.js';
import { Tape } from '../src/graph/tape.js';
import { conv2d, convGeometry, chooseFormulation, type DxFormulation, type DwFormulation, type FwdFormulation } from '../src/graph/conv.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const batch = arg('batch', 8);
const threads = arg('threads', 1);
const rounds = arg('rounds', 3);

// [label, cin, cout, k, stride, input side]
const layers: Array<[string, number, number, number, number, number]> = [
  ['G head 9x9 3->64 @24', 3, 64, 9, 1, 24],
  ['G body 3x3 64->64 @24', 64, 64, 3, 1, 24],
  ['G up0 3x3 64->256 @24', 64, 256, 3, 1, 24],
  ['G up1 3x3 64->256 @48', 64, 256, 3, 1, 48],
  ['G tail 9x9 64->3 @96', 64, 3, 9, 1, 96],
  ['D d0 3x3 3->64 @96', 3, 64, 3, 1, 96],
  ['D d1 3x3 64->64 s2 @96', 64, 64, 3, 2, 96],
  ['D d2 3x3 64->128 @48', 64, 128, 3, 1, 48],
  ['D d3 3x3 128->128 s2 @48', 128, 128, 3, 2, 48],
  ['D d4 3x3 128->256 @24', 128, 256, 3, 1, 24],
  ['D d5 3x3 256->256 s2 @24', 256, 256, 3, 2, 24],
  ['D d6 3x3 256->512 @12', 256, 512, 3, 1, 12],
  ['D d7 3x3 512->512 s2 @12', 512, 512, 3, 2, 12],
];

/** A graph with one conv whose only outputs are the chosen gradient (input or filter). */
async function session(cin: number, cout: number, k: number, stride: number, side: number, which: 'fwd' | 'dx' | 'dw', f: { fwd: FwdFormulation; dx: DxFormulation; dw: DwFormulation }) {
  const g = new GraphBuilder();
  const t = new Tape(g);
  const x = g.input('x', [batch, cin, side, side]);
  const w = g.input('w', [k, k, cin, cout]);
  if (which === 'dx') t.watch(x);
  else t.watch(w);
  const y = conv2d(t, x, w, null, stride, f);
  const dy = g.input('dy', y.shape);
  // L = sum(y * dy): its gradient with respect to y is dy, so the graph computes exactly one rule.
  const loss = g.node('ReduceSum', [g.node('Mul', [y, dy], {}, y.shape)], { keepdims: 0 }, []);
  t.record([y], [loss], () => [dy]);
  const grads = t.backward(loss);
  g.output(which === 'fwd' ? y : grads.get(which === 'dx' ? x.name : w.name)!, 'out');
  const s = await ort.InferenceSession.create(g.encode('probe'), { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const feeds = {
    x: new ort.Tensor('float32', Float32Array.from({ length: batch * cin * side * side }, Math.random), [batch, cin, side, side]),
    w: new ort.Tensor('float32', Float32Array.from({ length: k * k * cin * cout }, Math.random), [k, k, cin, cout]),
    dy: new ort.Tensor('float32', Float32Array.from({ length: y.shape.reduce((a, b) => a * b, 1) }, Math.random), [...y.shape]),
  };
  await s.run(feeds);
  return async () => {
    const t0 = performance.now();
    await s.run(feeds);
    return performance.now() - t0;
  };
}

console.log(`batch ${batch}, ${threads} thread(s), median of ${rounds} rounds, ms per call (GFLOP/s); * = fastest, > = chosen by chooseFormulation`);
for (const [label, cin, cout, k, stride, side] of layers) {
  const geo = convGeometry([batch, cin, side, side], [k, k, cin, cout], stride);
  const flops = 2 * batch * geo.ho * geo.wo * k * k * cin * cout;
  const chosen = chooseFormulation(geo);
  const fwds: FwdFormulation[] = stride === 1 ? ['conv', 'shiftsum'] : ['conv'];
  const dxs: DxFormulation[] = stride === 1 ? ['flipped', 'transpose', 'shiftdy'] : ['transpose'];
  const dws: DwFormulation[] = ['tap', 'im2col', 'batchconv', ...(stride === 1 ? (['shiftdy'] as const) : [])];
  const base = { fwd: 'conv' as FwdFormulation, dx: 'transpose' as DxFormulation, dw: 'tap' as DwFormulation };
  const runs: Array<{ name: string; mark: boolean; run: () => Promise<number>; times: number[] }> = [];
  for (const d of fwds) runs.push({ name: `fw ${d}`, mark: chosen.fwd === d, run: await session(cin, cout, k, stride, side, 'fwd', { ...base, fwd: d }), times: [] });
  for (const d of dxs) runs.push({ name: `dx ${d}`, mark: chosen.dx === d, run: await session(cin, cout, k, stride, side, 'dx', { ...base, dx: d }), times: [] });
  for (const d of dws) {
    // im2col's copies of a 9x9 layer at full resolution would need gigabytes.
    if (d === 'im2col' && k * k * cin * batch * geo.ho * geo.wo > 64e6) continue;
    runs.push({ name: `dw ${d}`, mark: chosen.dw === d, run: await session(cin, cout, k, stride, side, 'dw', { ...base, dw: d }), times: [] });
  }
  for (let r = 0; r < rounds; r++) for (const x of runs) x.times.push(await x.run());
  const med = (a: number[]) => a.slice().sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
  const best = (prefix: string) => Math.min(...runs.filter((x) => x.name.startsWith(prefix)).map((x) => med(x.times)));
  const cells = runs.map((x) => {
    const m = med(x.times);
    return `${x.mark ? '>' : ' '}${x.name} ${m.toFixed(1)} (${(flops / m / 1e6).toFixed(0)})${m === best(x.name.slice(0, 2)) ? '*' : ''}`;
  });
  console.log(`${label.padEnd(26)} ${cells.join('  ')}`);
}
