import type { CommandModule } from 'yargs';
import { UnavailableError } from '../../core/errors.js';

export const analyzeCommand: CommandModule = {
  command: 'analyze',
  describe: '(being built)',
  handler: () => {
    throw new UnavailableError('kdbg analyze is not built yet');
  },
};
