import { Command } from 'commander';

// Placeholder: being written (issue 10).
export function storeCommand(): Command {
  return new Command('store').description('what a store sends: heartbeats');
}
