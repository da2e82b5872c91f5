// Statistics for the MOS report, written out here rather than pulled from a package: the few
// functions needed are short, and each one's convention (sample SD, Student-t interval,
// tie-corrected normal approximation) has to be stated in the report anyway.

export interface Summary {
  n: number;
  mean: number;
  /** sample standard deviation (n - 1 in the denominator); NaN when n < 2 */
  sd: number;
  /** 95% confidence interval of the mean, Student t with n - 1 degrees of freedom; NaN when n < 2 */
  ciLow: number;
  ciHigh: number;
  /** counts of each score 1..5 (index 0 is score 1) */
  counts: number[];
}

export function summarize(scores: readonly number[], level = 0.95): Summary {
  const n = scores.length;
  const counts = [0, 0, 0, 0, 0];
  for (const s of scores) if (s >= 1 && s <= 5) counts[s - 1]!++;
  if (n === 0) return { n, mean: NaN, sd: NaN, ciLow: NaN, ciHigh: NaN, counts };
  let sum = 0;
  for (const s of scores) sum += s;
  const mean = sum / n;
  if (n < 2) return { n, mean, sd: NaN, ciLow: NaN, ciHigh: NaN, counts };
  let ss = 0;
  for (const s of scores) ss += (s - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const half = studentTQuantile(0.5 + level / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean, sd, ciLow: mean - half, ciHigh: mean + half, counts };
}

// ---------------------------------------------------------------------------------------------
// Special functions

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0 (Lanczos, g = 7; about 15 digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.99999999999980993;
  const t = z + 7.5;
  for (let i = 0; i < LANCZOS.length; i++) a += LANCZOS[i]! / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  // The continued fraction converges fast only on one side of the mean; use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the CDF; 1e-12 in t is plenty for an interval). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile level must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  let lo = -1e3;
  let hi = 1e3;
  // df = 1 (Cauchy) has quantiles beyond 1e3 only for p outside [0.0003, 0.9997]; widen until bracketed.
  while (studentTCdf(lo, df) > p) lo *= 10;
  while (studentTCdf(hi, df) < p) hi *= 10;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Regularized upper incomplete gamma Q(a, x), by series below a + 1 and continued fraction above. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * Math.exp(lnFront);
  }
  // Modified Lentz on the continued fraction of Gamma(a, x).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(lnFront) * h;
}

/** Complementary error function: erfc(x) = Q(1/2, x^2) for x >= 0 (relative error about 1e-14). */
export function erfc(x: number): number {
  const r = gammaQ(0.5, x * x);
  return x < 0 ? 2 - r : r;
}

/** Two-sided tail probability of a standard normal: P(|Z| >= |z|). */
export function normalTwoSided(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

// ---------------------------------------------------------------------------------------------
// Mann-Whitney U

export interface MannWhitney {
  /** U of the first sample: pairs (a, b) with a > b, ties counted one half */
  u: number;
  /** standardized statistic after continuity and tie correction (sign: first sample higher is positive) */
  z: number;
  /** two-sided p-value of the normal approximation */
  p: number;
  /** rank-biserial correlation 2U/(n1 n2) - 1, in [-1, 1]; positive when the first sample scores higher */
  r: number;
  n1: number;
  n2: number;
}

/**
 * Two-sided Mann-Whitney U test, normal approximation with tie correction and continuity
 * correction (as R's wilcox.test(exact = FALSE, correct = TRUE) and SciPy's
 * mannwhitneyu(method = 'asymptotic', use_continuity = True)). With five possible scores nearly
 * every value is tied, so the tie term is what makes the variance right.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitney {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: NaN, z: NaN, p: NaN, r: NaN, n1, n2 };
  const all = [...a.map((v) => ({ v, first: true })), ...b.map((v) => ({ v, first: false }))].sort((x, y) => x.v - y.v);
  const n = n1 + n2;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[j + 1]!.v === all[i]!.v) j++;
    const t = j - i + 1;
    const rank = (i + j) / 2 + 1; // average of ranks i+1 .. j+1
    for (let k = i; k <= j; k++) if (all[k]!.first) rankSumA += rank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  const r = (2 * u) / (n1 * n2) - 1;
  if (!(variance > 0)) return { u, z: 0, p: 1, r, n1, n2 }; // every score identical: no evidence either way
  const d = u - mu;
  const corrected = Math.abs(d) <= 0.5 ? 0 : d - 0.5 * Math.sign(d);
  const z = corrected / Math.sqrt(variance);
  return { u, z, p: Math.min(1, normalTwoSided(z)), r, n1, n2 };
}

/** Holm-Bonferroni adjusted p-values, in the input's order. */
export function holm(ps: readonly number[]): number[] {
  const m = ps.filter((p) => !Number.isNaN(p)).length;
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => (Number.isNaN(x.p) ? 1 : Number.isNaN(y.p) ? -1 : x.p - y.p));
  const out = new Array<number>(ps.length).fill(NaN);
  let running = 0;
  order.forEach(({ p, i }, k) => {
    if (Number.isNaN(p)) return;
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}
