import { Command } from 'commander';
import { z } from 'zod';
import { createTopics, describeTopics } from '../services/topics.js';
import { renderTable } from '../ui/table.js';
import { examples, flagField, run } from './shared.js';

export const topicsCreateOptionsSchema = z.object({ json: flagField });
export const topicsDescribeOptionsSchema = z.object({ group: z.string().optional(), json: flagField });

export function topicsCommand(): Command {
  const topics = new Command('topics').description('create and inspect the Kafka topics shopctl uses');

  topics
    .command('create')
    .description('create the configured topics that are missing, with kafka.partitions partitions')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('shopctl topics create', 'SHOPCTL_KAFKA_PARTITIONS=6 shopctl topics create'))
    .action(
      run(topicsCreateOptionsSchema, async (context, options) => {
        const { output } = context;
        const result = await createTopics(context);
        if (options.json) return output.json(result);
        output.data(
          renderTable(
            result,
            [
              { header: 'topic', value: (r) => r.topic },
              { header: 'partitions', value: (r) => r.partitions, align: 'right' },
              { header: 'status', value: (r) => (r.created ? 'created' : 'exists') },
            ],
            { color: output.color },
          ),
        );
      }),
    );

  topics
    .command('describe')
    .description("partitions, end offsets and the consumer group's lag per topic")
    .option('--group <id>', 'consumer group whose lag to show (default: kafka.groupId)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('shopctl topics describe', 'shopctl topics describe --group replay-1 --json'))
    .action(
      run(topicsDescribeOptionsSchema, async (context, options) => {
        const { config, output } = context;
        const groupId = options.group ?? config.kafka.groupId;
        const rows = await describeTopics(context, groupId);
        if (options.json) return output.json({ groupId, partitions: rows });
        if (rows.length === 0) {
          output.data('no shopctl topics yet: run `shopctl topics create`');
          return;
        }
        output.data(
          renderTable(
            rows,
            [
              { header: 'topic', value: (r) => r.topic },
              { header: 'partition', value: (r) => r.partition, align: 'right' },
              { header: 'end offset', value: (r) => r.endOffset, align: 'right' },
              { header: `committed (${groupId})`, value: (r) => (r.committed === null ? '-' : r.committed), align: 'right' },
              { header: 'lag', value: (r) => r.lag, align: 'right' },
            ],
            { color: output.color },
          ),
        );
        output.data(`total lag for group '${groupId}': ${rows.reduce((sum, row) => sum + row.lag, 0)}`);
      }),
    );
  return topics;
}
