// Temporary folders that node:test removes when their owner is done, so that runs, failed ones
// included, leave nothing in /tmp.
import { after, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function remove(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A new folder under os.tmpdir(), removed after the file's last test. Call it at module top
 * level: an after() registered inside a before hook belongs to that hook, and would remove the
 * folder as soon as the hook returned. Node runs a file's after hooks in the order registered,
 * so one that must run first (stopping a worker that writes there) is registered before this;
 * and as soon as the tests declared so far are done, so no top-level await may follow a test.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => remove(dir));
  return dir;
}

/** A new folder for one test, removed when that test ends: for a test that needs one of its own. */
export function testTempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => remove(dir));
  return dir;
}
