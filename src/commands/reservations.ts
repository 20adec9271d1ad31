import { Command } from 'commander';

// Placeholder: being written (issue 10).
export function reservationsCommand(): Command {
  return new Command('reservations').description('list, show, fulfil and cancel reservations');
}
