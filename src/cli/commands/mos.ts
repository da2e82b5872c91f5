// `srgan mos create | serve | report`: the SRGAN paper's mean-opinion-score study as a tool.
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { resolve } from 'node:path';
import { ProgressReporter } from '../../util/progress.js';
import { serveUntilSignal } from '../../util/http.js';
import { createStudy } from '../../mos/study.js';
import { serveStudy, DEFAULT_MAX_RATERS, DEFAULT_MAX_RATERS_PER_CLIENT } from '../../mos/server.js';
import { formatReport, writeReport } from '../../mos/report.js';
import { parseScale, parseCount, parsePort } from '../parse.js';

export function registerMosCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  const mos = program.command('mos').description("mean-opinion-score study as in the SRGAN paper: make the images, collect ratings in the browser, report");

  mos
    .command('create')
    .description("make a study: every method's x4 result of the benchmark LR of each image, plus the HR ('hr'), under opaque ids")
    .requiredOption('--data <folder>', 'folder of HR images (e.g. ../shared/data/benchmark/Set5)')
    .requiredOption('--methods <list>', "comma-separated methods, e.g. nearest,bicubic,srresnet,srgan ('hr' is always added)")
    .requiredOption('--out <study>', 'new study folder (must not exist)')
    .option('--scale <n>', 'upscaling factor', '4')
    .requiredOption('--calibration <image or folder>', 'image (or a folder: its first image) from outside the study set, whose nearest (score 1) and HR (score 5) versions calibrate raters')
    .action(async (flags: { data: string; methods: string; out: string; scale: string; calibration: string }) => {
      const scale = parseScale(flags.scale);
      let bar: ProgressReporter | undefined;
      const m = await createStudy({
        data: flags.data,
        methods: flags.methods.split(','),
        out: flags.out,
        scale,
        calibration: flags.calibration,
        onProgress: (done, total) => {
          bar ??= new ProgressReporter({ total, label: 'mos create', unit: 'images', lineEvery: 5 });
          bar.update(done);
        },
      });
      bar?.stop();
      const n = m.items.filter((i) => i.role === 'study').length;
      io.out.write(`study ${resolve(flags.out)}: ${m.images.length} images x ${m.methods.length} methods (${m.methods.join(', ')}) = ${n} items to rate, plus a calibration pair\n`);
      io.out.write(`next: srgan mos serve ${flags.out}\n`);
    });

  mos
    .command('serve')
    .description('serve the study to raters (ratings go to the study database; safe to stop and restart)')
    .argument('<study>', 'study folder made by mos create')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <addr>', 'address to bind; 0.0.0.0 lets other machines in', '127.0.0.1')
    .option('--max-raters <n>', 'raters the study accepts in all', String(DEFAULT_MAX_RATERS))
    .option('--max-raters-per-client <n>', 'new raters one client address may start per hour', String(DEFAULT_MAX_RATERS_PER_CLIENT))
    .action(async (dir: string, flags: { port: string; host: string; maxRaters: string; maxRatersPerClient: string }) => {
      const s = await serveStudy(dir, {
        port: parsePort(flags.port),
        host: flags.host,
        maxRaters: parseCount(flags.maxRaters, '--max-raters'),
        maxRatersPerClient: parseCount(flags.maxRatersPerClient, '--max-raters-per-client'),
        onRating: (rater, done, total) => io.err.write(`rater #${rater}: ${done}/${total}\n`),
      });
      const c = s.study.db.counts();
      io.out.write(`MOS study ${s.study.dir}: ${s.study.studyItems.length} items, ${c.raters} raters and ${c.ratings} ratings so far\n`);
      io.out.write(`raters open ${s.url}   (Ctrl-C stops; ratings are already on disk)\n`);
      await serveUntilSignal(s);
    });

  mos
    .command('report')
    .description('MOS per method (SD, 95% CI), pairwise Mann-Whitney U tests, distribution figure (PNG/SVG), CSV and JSON')
    .argument('<study>', 'study folder')
    .option('--out <dir>', 'where the report goes (default <study>/report)')
    .action(async (dir: string, flags: { out?: string }) => {
      const r = await writeReport(dir, flags.out);
      io.out.write(formatReport(r.report));
      io.out.write(`\nwritten: ${r.files.join(', ')}\n`);
    });
}
