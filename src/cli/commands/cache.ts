import type { CommandModule } from 'yargs';
import { UnavailableError } from '../../core/errors.js';

export const cacheCommand: CommandModule = {
  command: 'cache',
  describe: '(being built)',
  handler: () => {
    throw new UnavailableError('kdbg cache is not built yet');
  },
};
