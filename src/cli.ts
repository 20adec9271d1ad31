import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { exitQuietlyOnClosedPipe } from './ui/output.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// Each command is loaded only when it runs: a command module pulls in its services and through
// them kafkajs, mongodb, Faker, ora… (measured: `shopctl --version` 83 MB of RSS when all were
// imported eagerly, ~45 MB with commander alone; node itself is ~40 MB). The root help and
// commander's "did you mean" for an unknown command still see all of them.
const commandLoaders: Record<string, () => Promise<Command>> = {
  make: async () => (await import('./commands/make.js')).makeCommand(),
  buy: async () => (await import('./commands/buy.js')).buyCommand(),
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand(),
  consume: async () => (await import('./commands/consume.js')).consumeCommand(),
  import: async () => (await import('./commands/import.js')).importCommand(),
  list: async () => (await import('./commands/list.js')).listCommand(),
  stock: async () => (await import('./commands/stock.js')).stockCommand(),
  reserve: async () => (await import('./commands/reserve.js')).reserveCommand(),
  reservations: async () => (await import('./commands/reservations.js')).reservationsCommand(),
  store: async () => (await import('./commands/store.js')).storeCommand(),
  stores: async () => (await import('./commands/stores.js')).storesCommand(),
  relay: async () => (await import('./commands/relay.js')).relayCommand(),
  serve: async () => (await import('./commands/serve.js')).serveCommand(),
  history: async () => (await import('./commands/history.js')).historyCommand(),
  report: async () => (await import('./commands/report.js')).reportCommand(),
  alerts: async () => (await import('./commands/alerts.js')).alertsCommand(),
  errors: async () => (await import('./commands/errors.js')).errorsCommand(),
  topics: async () => (await import('./commands/topics.js')).topicsCommand(),
  config: async () => (await import('./commands/config.js')).configCommand(),
};

/** Root options that take a value: their value is not a command name. */
const VALUE_OPTIONS = new Set(['-c', '--config', '--brokers', '--mongodb-uri', '--db', '--namespace']);

/**
 * The commands `args` (the arguments after the script) needs: the one it names; none for a bare
 * `--version`; all of them otherwise (root help, no command, an unknown one).
 */
export function commandsFor(args: readonly string[]): string[] {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--') break;
    if (VALUE_OPTIONS.has(arg)) {
      i += 1;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return arg in commandLoaders ? [arg] : Object.keys(commandLoaders);
  }
  const versionOnly = args.some((arg) => arg === '-V' || arg === '--version') && !args.some((arg) => arg === '-h' || arg === '--help');
  return versionOnly ? [] : Object.keys(commandLoaders);
}

export async function buildProgram(names: readonly string[] = Object.keys(commandLoaders)): Promise<Command> {
  const program = new Command('shopctl')
    .description('Run an event-driven shop on Kafka and MongoDB: generate, buy, project, inspect.')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <path>', 'config file (default: config.yaml, .shopctlrc*, shopctl.config.* in the working directory)')
    .option('--brokers <list>', 'Kafka brokers, comma-separated (overrides kafka.brokers)')
    .option('--mongodb-uri <uri>', 'MongoDB connection string (overrides mongodb.uri)')
    .option('--db <name>', 'MongoDB database (overrides mongodb.db)')
    .option('--namespace <name>', 'a private sandbox: topics NAME.<topic>, consumer group NAME.<group>, database <db>_NAME (overrides namespace; env SHOPCTL_NAMESPACE)')
    .addOption(new Option('--no-color', 'plain output without colours'))
    .option('--wide', 'tables in full: whole ids and texts, however wide (on a terminal they are fitted to its width)')
    .showHelpAfterError('(run with --help for usage)');
  if (names.length === 0) return program;
  const { examples } = await import('./commands/shared.js');
  program.addHelpText(
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
  // In the order of the root help.
  const wanted = Object.keys(commandLoaders).filter((name) => names.includes(name));
  for (const command of await Promise.all(wanted.map((name) => commandLoaders[name]!()))) {
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

// `shopctl … | head -1`: the reader closing the pipe ends the command quietly (exit 0).
exitQuietlyOnClosedPipe();
const program = await buildProgram(commandsFor(process.argv.slice(2)));
usageErrorsExit2(program);
await program.parseAsync(process.argv);
