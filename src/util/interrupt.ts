// Ctrl-C for long commands: the first one asks the work to stop (through an AbortSignal) so the
// command can clean up and say where it got to; a second one quits at once. The command ends with
// exit status 130, as a shell reports a process killed by SIGINT.
import { EXIT_INTERRUPTED } from './errors.js';

export interface Interrupt {
  signal: AbortSignal;
  /** Stops listening for Ctrl-C (call when the work is over). */
  dispose(): void;
}

/**
 * `what` finishes the notice: "interrupt: <what> (Ctrl-C again to quit at once)". `beforeQuit`
 * runs just before that second Ctrl-C exits, to remove what the work was half-way through writing;
 * it must be synchronous.
 */
export function onInterrupt(what: string, err: { write(s: string): unknown } = process.stderr, beforeQuit?: () => void): Interrupt {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) {
      beforeQuit?.();
      process.exit(EXIT_INTERRUPTED);
    }
    err.write(`\ninterrupt: ${what} (Ctrl-C again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  return { signal: controller.signal, dispose: () => void process.off('SIGINT', handler) };
}
