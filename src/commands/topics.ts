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
        // JSON names follow the table's headers: topic, partitions, status.
        if (options.json) return output.json(result.map((r) => ({ topic: r.topic, partitions: r.partitions, status: r.created ? 'created' : 'exists' })));
        output.data(
          renderTable(
            result,
            [
              { header: 'topic', value: (r) => r.topic },
              { header: 'partitions', value: (r) => r.partitions, align: 'right' },
              { header: 'status', value: (r) => (r.created ? 'created' : 'exists') },
            ],
            output,
          ),
        );
      }),
    );

  topics
    .command('describe')
    .description("every topic shopctl uses: partitions, end offsets, and the consumer group's lag on the topics it reads")
    .option('--group <id>', 'consumer group whose lag to show (default: kafka.groupId)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `${examples('shopctl topics describe', 'shopctl topics describe --group replay-1 --json')}
The group reads the customers, catalog, inventory and retry topics; the others (dead letters,
import errors, alerts) show their end offsets and no lag ('-').
`,
    )
    .action(
      run(topicsDescribeOptionsSchema, async (context, options) => {
        const { config, output } = context;
        const groupId = options.group ?? config.kafka.groupId;
        const { partitions: rows, missing } = await describeTopics(context, groupId);
        const totalLag = rows.reduce((sum, row) => sum + (row.lag ?? 0), 0);
        if (options.json) return output.json({ groupId, partitions: rows, missing, totalLag });
        if (rows.length === 0) {
          output.data('no shopctl topics yet: run `shopctl topics create`');
          return;
        }
        output.data(
          renderTable(
            rows,
            [
              { header: 'topic', value: (r) => r.topic },
              { header: 'role', value: (r) => r.role },
              { header: 'partition', value: (r) => r.partition, align: 'right' },
              { header: 'end offset', value: (r) => r.endOffset, align: 'right' },
              { header: `committed (${groupId})`, value: (r) => (r.committed === null ? '-' : r.committed), align: 'right' },
              { header: 'lag', value: (r) => (r.lag === null ? '-' : r.lag), align: 'right' },
            ],
            output,
          ),
        );
        output.data(`total lag for group '${groupId}': ${totalLag}`);
        if (missing.length > 0) output.data(`not created yet: ${missing.join(', ')} (\`shopctl topics create\` creates them)`);
      }),
    );
  return topics;
}
