import type { CommandModule } from 'yargs';
import { UnavailableError } from '../../core/errors.js';

export const unpackCommand: CommandModule = {
  command: 'unpack',
  describe: '(being built)',
  handler: () => {
    throw new UnavailableError('kdbg unpack is not built yet');
  },
};
