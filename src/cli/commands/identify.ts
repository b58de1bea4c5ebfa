import type { CommandModule } from 'yargs';
import { UnavailableError } from '../../core/errors.js';

export const identifyCommand: CommandModule = {
  command: 'identify',
  describe: '(being built)',
  handler: () => {
    throw new UnavailableError('kdbg identify is not built yet');
  },
};
