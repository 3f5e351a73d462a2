import { Command } from 'commander';
import { serveCommand, workerCommand } from './commands/serve.js';

const program = new Command('redial')
  .description('Self-hosted outbound batch calling with an ElevenLabs-compatible API')
  .addCommand(serveCommand())
  .addCommand(workerCommand());

await program.parseAsync(process.argv);
