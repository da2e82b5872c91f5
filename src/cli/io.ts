// Where a command writes. Every register*Command takes one, so a test can run a command in
// process and read what it said; the program itself uses the process's streams.
export interface Io {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
  /** A non-zero status without an error: some files failed, or Ctrl-C stopped the work. */
  setExitCode(code: number): void;
}

export const processIo: Io = {
  out: process.stdout,
  err: process.stderr,
  setExitCode: (code) => void (process.exitCode = code),
};

/** What a caller gave, the process's streams for the rest. */
export function withDefaults(given: Partial<Io> = {}): Io {
  return { ...processIo, ...given };
}
