// `srgan info`: which backend runs, which architectures exist. Also the smoke test of an install.
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { initBackend } from '../../tfjs/backend.js';
import { architectureNames, getArchitecture } from '../../models/index.js';
import { packageVersion } from '../../util/package_info.js';

export function registerInfoCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('info')
    .description('show the version, the compute backend in use and the registered architectures')
    .action(async () => {
      const backend = await initBackend({ backend: program.opts()['backend'] });
      const lines = [`srgan ${packageVersion()}`, `backend: ${backend}`, 'architectures:'];
      for (const name of architectureNames()) lines.push(`  ${name.padEnd(22)} ${getArchitecture(name).description}`);
      io.out.write(lines.join('\n') + '\n');
    });
}
