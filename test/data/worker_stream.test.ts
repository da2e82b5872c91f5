// The shared worker stream as its users see it: the sequence stream now resumes across a batch
// or patch change (continuing at the first sample not served), as the patch stream always did,
// and an idle stream that was never closed does not keep the process alive.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SequenceDataset } from '../../src/video/sequence_dataset.js';
import { makeImageFolder } from '../helpers/images.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-stream-');
const data = join(root, 'photos');
before(() => makeImageFolder(data, 3, 72, 64, 9));

test('sequence stream: resuming with another batch or patch size continues the sample order', async () => {
  const warnings: string[] = [];
  const base = { dir: data, mode: 'sosr' as const, scale: 2, seed: 4, workers: 1, onWarning: (m: string) => warnings.push(m) };
  const a = await SequenceDataset.open({ ...base, patch: 16, batch: 2 });
  try {
    await a.next();
    await a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const b = await SequenceDataset.open({ ...base, patch: 20, batch: 4, state: saved });
    try {
      const next = await b.next();
      assert.equal(next.index, 1);
      assert.equal(next.hrSize, 20);
      // the samples after the 4 served ones are those of batches 2 and 3 at the old batch size
      assert.deepEqual(b.recipe(1), [...a.recipe(2), ...a.recipe(3)].map((s, i) => ({ ...s, slot: i })));
    } finally {
      await b.close();
    }
    assert.ok(warnings.some((w) => /batches of 2 with batches of 4/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /16px patches with 20px/.test(w)), warnings.join('\n'));
    assert.throws(() => a.restore({ ...saved, seed: 5 }), /seed 5 vs 4/);
  } finally {
    await a.close();
  }
});

test('an open, idle sequence stream does not keep the process alive', () => {
  const url = new URL('../../src/video/sequence_dataset.js', import.meta.url).href;
  const script = `const { SequenceDataset } = await import(${JSON.stringify(url)});
const ds = await SequenceDataset.open({ dir: ${JSON.stringify(data)}, mode: 'tosr', scale: 2, patch: 16, batch: 2, workers: 1 });
await ds.next();
console.log('served');`;
  const file = join(root, 'idle.mjs');
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /served/);
});
