// `srgan make-actions`: the labelled synthetic action set (src/action/synth_actions.ts).
import type { Command } from 'commander';
import { lazyProgress } from '../../util/progress.js';
import { onInterrupt } from '../../util/interrupt.js';
import { ACTION_CLASSES, makeActions } from '../../action/synth_actions.js';
import { parseCount, parseNumber } from '../parse.js';
import { withDefaults, type Io } from '../io.js';

interface Flags {
  out: string;
  photos: string;
  seed: string;
  classes?: string;
  clipsPerClass?: string;
  frames?: string;
  size?: string;
}

export function registerMakeActionsCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('make-actions')
    .description('write a seeded synthetic action set: clips of patterned objects cut from photos, moving over photos (class = pattern x motion), with UCF101-style split lists')
    .requiredOption('--out <folder>', 'where <class>/<clip>.mkv, classInd.txt, trainlist01.txt and testlist01.txt go')
    .requiredOption('--photos <folder>', "photos to cut objects and backgrounds from (several: 'a,b')")
    .requiredOption('--seed <n>', 'the set is a pure function of the seed')
    .option('--classes <list>', `classes to make (default all: ${ACTION_CLASSES.join(',')})`)
    .option('--clips-per-class <n>', 'clips per class; every third is a test clip (default 12)')
    .option('--frames <n>', 'frames per clip (default 16)')
    .option('--size <n>', 'frame side in pixels, a multiple of 8 (default 64)')
    .action(async (flags: Flags) => {
      const seed = parseNumber(flags.seed, '--seed', { int: true, min: 0 });
      const interrupt = onInterrupt('stopping after this clip');
      const progress = lazyProgress('make-actions', 'clips');
      try {
        const r = await makeActions({
          out: flags.out,
          photos: flags.photos,
          seed,
          ...(flags.classes ? { classes: flags.classes.split(',').map((s) => s.trim()) } : {}),
          ...(flags.clipsPerClass ? { clipsPerClass: parseCount(flags.clipsPerClass, '--clips-per-class') } : {}),
          ...(flags.frames ? { frames: parseCount(flags.frames, '--frames') } : {}),
          ...(flags.size ? { size: parseCount(flags.size, '--size') } : {}),
          signal: interrupt.signal,
          onClip: (done, total) => progress.update(done, total),
        });
        progress.stop();
        io.out.write(`${r.classes.length} classes (${r.classes.join(', ')}), ${r.train} training and ${r.test} test clips in ${flags.out}\n`);
      } finally {
        interrupt.dispose();
      }
    });
}
