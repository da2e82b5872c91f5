// The little dense linear algebra the metrics need (NIQE's Mahalanobis-like distance), on
// row-major Float64Array matrices. Sizes are tiny (36x36), so clarity beats speed here.

/**
 * Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations: A = V diag(d) V'.
 * Jacobi is chosen because it is short, unconditionally stable and accurate to a few ulps for
 * symmetric matrices, which is all a covariance ever is.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off === 0 || !Number.isFinite(off)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i]!;
  return { values, vectors: v };
}

/**
 * Moore-Penrose pseudo-inverse of a symmetric matrix, with MATLAB pinv's tolerance:
 * singular values (here |eigenvalues|) at or below max(n) * eps(largest) are treated as zero.
 */
export function pinvSymmetric(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  let largest = 0;
  for (const x of values) largest = Math.max(largest, Math.abs(x));
  const eps = largest > 0 ? 2 ** (Math.floor(Math.log2(largest)) - 52) : 0;
  const tol = n * eps;
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const d = values[k]!;
    if (!(Math.abs(d) > tol)) continue;
    const inv = 1 / d;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k]! * inv;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k]!;
    }
  }
  return out;
}
