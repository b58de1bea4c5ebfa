import type { CommandModule } from 'yargs';
import { UnavailableError } from '../../core/errors.js';

export const fetchCommand: CommandModule = {
  command: 'fetch',
  describe: '(being built)',
  handler: () => {
    throw new UnavailableError('kdbg fetch is not built yet');
  },
};
