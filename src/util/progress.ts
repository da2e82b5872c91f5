// Progress for long work: a cli-progress bar on a terminal (step, rate, ETA, current values), and
// when stderr is not a terminal (CI, logs) a plain line at most every few seconds.
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  total: number;
  start?: number;
  label: string;
  /** Draw a bar (default: stderr is a terminal). */
  bar?: boolean;
  enabled?: boolean;
  /** Name of what is counted, for the rate ("it", "tiles", "files", "frames"). */
  unit?: string;
  /** Seconds between plain lines when there is no bar. */
  lineEvery?: number;
}

function fmtValues(values: Record<string, number> | undefined): string {
  if (!values) return '';
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Math.abs(v) >= 100 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4)}`)
    .join(' ');
}

/** `42s`, `3m07s`, `2h05m`; `?` when not finite. */
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * For work whose total is known only once it starts: a reporter made at the first call of
 * `update(done, total)`.
 */
export function lazyProgress(label: string, unit: string): { update(done: number, total: number): void; stop(): void } {
  let p: ProgressReporter | undefined;
  return {
    update(done, total) {
      p ??= new ProgressReporter({ total, label, unit });
      p.update(done);
    },
    stop: () => p?.stop(),
  };
}

export class ProgressReporter {
  private bar: cliProgress.SingleBar | null = null;
  private t0 = performance.now();
  private lastLine = 0;
  private readonly start: number;

  constructor(private readonly o: ProgressOptions) {
    this.start = o.start ?? 0;
    if (o.enabled === false) return;
    if (o.bar ?? process.stderr.isTTY === true) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${o.label} |{bar}| {value}/{total} | {rate} ${o.unit ?? 'it'}/s | ETA {etaText} | {values}`,
          stream: process.stderr,
          hideCursor: true,
          barsize: 24,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(o.total, this.start, { rate: '-', etaText: '?', values: '' });
    }
  }

  update(done: number, values?: Record<string, number>): void {
    if (this.o.enabled === false) return;
    const secs = (performance.now() - this.t0) / 1000;
    const rate = (done - this.start) / Math.max(secs, 1e-9);
    const eta = (this.o.total - done) / rate;
    if (this.bar) {
      this.bar.update(done, { rate: rate.toFixed(2), etaText: fmtDuration(eta), values: fmtValues(values) });
      return;
    }
    const now = performance.now();
    if (now - this.lastLine >= (this.o.lineEvery ?? 10) * 1000 || done === this.o.total) {
      this.lastLine = now;
      process.stderr.write(`${this.o.label} ${done}/${this.o.total} ${rate.toFixed(2)} ${this.o.unit ?? 'it'}/s ETA ${fmtDuration(eta)} ${fmtValues(values)}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
