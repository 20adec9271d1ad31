import { Command } from 'commander';

// Placeholder: being written (issue 10).
export function relayCommand(): Command {
  return new Command('relay').description('publish the outbox (events written --via db) to Kafka');
}
