import { Command } from 'commander';

// Placeholder: being written (issue 10).
export function storesCommand(): Command {
  return new Command('stores').description('stores with their last heartbeat and freshness');
}
