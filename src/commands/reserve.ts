import { Command } from 'commander';

// Placeholder: being written (issue 10).
export function reserveCommand(): Command {
  return new Command('reserve').description('reserve units of a SKU at a store for a customer');
}
