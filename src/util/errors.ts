// Errors meant for people: the CLI prints `error: <message>` without a stack trace for these.
// Anything else that escapes is a bug and is shown with its stack.
export class SrError extends Error {
  /** The CLI's exit status for this error: 1, or 130 for an interrupt (128 + SIGINT). */
  readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.name = 'SrError';
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Exit status of a command stopped by Ctrl-C, as shells report a process killed by SIGINT. */
export const EXIT_INTERRUPTED = 130;

/** Closest known name by edit distance, for "did you mean" hints. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
