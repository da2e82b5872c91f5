import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm'); await tf.ready();
function timeit(name, f, flops, reps=3) {
  let out = f(); out.dataSync(); out.dispose();
  const t0 = performance.now();
  for (let i=0;i<reps;i++){ out = f(); out.dataSync(); out.dispose(); }
  const s = (performance.now()-t0)/1000/reps;
  console.log(name, s.toFixed(4),'s', (flops/s/1e9).toFixed(1),'GFLOP/s');
}
for (const [B,H,Ci,Co,K,S] of [[16,24,64,64,3,1],[16,96,64,64,3,2],[16,96,3,64,9,1],[16,48,128,128,3,2]]) {
  const x = tf.randomNormal([B,H,H,Ci]);
  const Ho = Math.ceil(H/S);
  const dy = tf.randomNormal([B,Ho,Ho,Co]);
  const flops = 2*B*Ho*Ho*K*K*Ci*Co;
  console.log('shape', B,H,Ci,Co,K,S);
  const p = Math.max((Ho-1)*S+K-H,0); const pt = Math.floor(p/2), pb = p-pt;
  // A: im2col concat + one matmul
  timeit('A im2col+mm', () => tf.tidy(() => {
    const xp = tf.pad(x, [[0,0],[pt,pb],[pt,pb],[0,0]]);
    const cols = [];
    for (let i=0;i<K;i++) for (let j=0;j<K;j++) cols.push(tf.stridedSlice(xp,[0,i,j,0],[B,i+(Ho-1)*S+1,j+(Ho-1)*S+1,Ci],[1,S,S,1]));
    const c = tf.reshape(tf.concat(cols, 3),[B*Ho*Ho, K*K*Ci]);
    return tf.reshape(tf.matMul(c, tf.reshape(dy,[B*Ho*Ho, Co]), true, false),[K,K,Ci,Co]);
  }), flops);
  // A2: per-position matmul
  timeit('A2 per-pos mm', () => tf.tidy(() => {
    const xp = tf.pad(x, [[0,0],[pt,pb],[pt,pb],[0,0]]);
    const dy2 = tf.reshape(dy,[B*Ho*Ho, Co]);
    const parts = [];
    for (let i=0;i<K;i++) for (let j=0;j<K;j++) parts.push(tf.matMul(tf.reshape(tf.stridedSlice(xp,[0,i,j,0],[B,i+(Ho-1)*S+1,j+(Ho-1)*S+1,Ci],[1,S,S,1]),[B*Ho*Ho,Ci]), dy2, true, false));
    return tf.reshape(tf.stack(parts),[K,K,Ci,Co]);
  }), flops);
  // A3: transposed cols explicitly then mm without transposeA
  timeit('A3 im2col T', () => tf.tidy(() => {
    const xp = tf.pad(x, [[0,0],[pt,pb],[pt,pb],[0,0]]);
    const cols = [];
    for (let i=0;i<K;i++) for (let j=0;j<K;j++) cols.push(tf.stridedSlice(xp,[0,i,j,0],[B,i+(Ho-1)*S+1,j+(Ho-1)*S+1,Ci],[1,S,S,1]));
    const c = tf.transpose(tf.reshape(tf.concat(cols, 3),[B*Ho*Ho, K*K*Ci]));
    return tf.reshape(tf.matMul(c, tf.reshape(dy,[B*Ho*Ho, Co])),[K,K,Ci,Co]);
  }), flops);
  // B: conv trick
  try {
  timeit('B conv-trick', () => tf.tidy(() => {
    const xp = tf.pad(x, [[0,0],[pt,pb],[pt,pb],[0,0]]);
    const xt = tf.transpose(xp, [3,1,2,0]);
    const f = tf.transpose(dy, [1,2,0,3]);
    const o = tf.conv2d(xt, f, 1, 'valid', 'NHWC', S);
    return tf.transpose(o, [1,2,0,3]);
  }), flops);
  } catch(e) { console.log('B err', e.message); }
  // reference: forward conv
  const w = tf.randomNormal([K,K,Ci,Co]);
  timeit('fwd conv', () => tf.conv2d(x, w, S, 'same'), flops);
  timeit('bwd input', () => tf.conv2dTranspose(dy, w, x.shape, S, 'same'), flops);
}
