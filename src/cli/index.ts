import { Command } from 'commander';
import { serveCommand } from './commands/serve.js';

const program = new Command('redial')
  .description('Self-hosted outbound batch calling with an ElevenLabs-compatible API')
  .addCommand(serveCommand());

await program.parseAsync(process.argv);
