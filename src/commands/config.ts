import { Command } from 'commander';
import { z } from 'zod';
import { redact } from '../config/redact.js';
import { renderTable } from '../ui/table.js';
import { examples, flagField, run } from './shared.js';

export const configShowOptionsSchema = z.object({ json: flagField });

function leaves(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    // An empty map (no per-SKU thresholds, say) is still a setting: shown as (none).
    if (Object.keys(value).length === 0) return [[prefix, null]];
    return Object.entries(value).flatMap(([key, child]) => leaves(child, prefix ? `${prefix}.${key}` : key));
  }
  return [[prefix, value]];
}

export function configCommand(): Command {
  const config = new Command('config').description('inspect the effective configuration');
  config
    .command('show')
    .description('print every setting, where it came from (default, file, env, flag; "+ namespace" when a namespace renamed it), secrets redacted')
    .option('--json', 'print { config, sources, file } as JSON')
    .addHelpText('after', examples('shopctl config show', 'SHOPCTL_MONGODB_DB=test shopctl config show --json'))
    .action(
      run(configShowOptionsSchema, (context, options) => {
        const { loaded, output } = context;
        const safe = redact(loaded.config);
        if (options.json) return output.json({ file: loaded.file, config: safe, sources: loaded.sources });
        const rows = leaves(safe).map(([key, value]) => ({
          key,
          value: Array.isArray(value) ? value.join(',') : value === null ? '(none)' : JSON.stringify(value).replace(/^"|"$/g, ''),
          source: loaded.sources[key] ?? 'default',
        }));
        output.data(
          renderTable(
            rows,
            [
              { header: 'key', value: (r) => r.key, keep: true },
              { header: 'value', value: (r) => r.value, wrap: true },
              { header: 'from', value: (r) => r.source },
            ],
            output,
          ),
        );
        output.data(loaded.file ? `config file: ${loaded.file}` : 'no config file found (built-in defaults)');
        const { namespace, kafka, mongodb } = loaded.config;
        if (namespace !== null) {
          output.data(`namespace: ${namespace} (topics ${namespace}.*, consumer group ${kafka.groupId}, database ${mongodb.db})`);
        }
      }),
    );
  return config;
}
