import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { alertsCommand } from './commands/alerts.js';
import { buyCommand } from './commands/buy.js';
import { configCommand } from './commands/config.js';
import { consumeCommand } from './commands/consume.js';
import { errorsCommand } from './commands/errors.js';
import { historyCommand } from './commands/history.js';
import { importCommand } from './commands/import.js';
import { listCommand } from './commands/list.js';
import { makeCommand } from './commands/make.js';
import { reportCommand } from './commands/report.js';
import { examples } from './commands/shared.js';
import { stockCommand } from './commands/stock.js';
import { topicsCommand } from './commands/topics.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('shopctl')
    .description('Run an event-driven shop on Kafka and MongoDB: generate, buy, project, inspect.')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <path>', 'config file (default: config.yaml, .shopctlrc*, shopctl.config.* in the working directory)')
    .option('--brokers <list>', 'Kafka brokers, comma-separated (overrides kafka.brokers)')
    .option('--mongodb-uri <uri>', 'MongoDB connection string (overrides mongodb.uri)')
    .option('--db <name>', 'MongoDB database (overrides mongodb.db)')
    .addOption(new Option('--no-color', 'plain output without colours'))
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      examples(
        'npm run stack:up                                  # local Kafka + FerretDB',
        'shopctl make customers --count 500 --via kafka',
        'shopctl make products --count 200 --via db',
        'shopctl buy --random --count 10000 --via kafka',
        'shopctl consume --until-idle 5',
        'shopctl list products --sort sold',
      ),
    );
  const commands = [
    makeCommand(),
    buyCommand(),
    consumeCommand(),
    importCommand(),
    listCommand(),
    stockCommand(),
    historyCommand(),
    reportCommand(),
    alertsCommand(),
    errorsCommand(),
    topicsCommand(),
    configCommand(),
  ];
  for (const command of commands) {
    program.addCommand(command);
  }
  return program;
}

// Commander's own usage errors (unknown option, bad argument) exit 2 like shopctl's; help and
// --version still exit 0.
function usageErrorsExit2(command: Command): void {
  command.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });
  for (const sub of command.commands) usageErrorsExit2(sub);
}

const program = buildProgram();
usageErrorsExit2(program);
await program.parseAsync(process.argv);
