import { Command } from 'commander';
import { z } from 'zod';
import { storesView } from '../services/stores.js';
import { printStores, storeJson } from '../ui/stores.js';
import { examples, flagField, run } from './shared.js';

export const storesOptionsSchema = z.object({ json: flagField });

export function storesCommand(): Command {
  return new Command('stores')
    .description(
      'every store the central view knows (from heartbeats and stock): last heartbeat, its age, fresh/STALE/unknown (availability.staleAfterSeconds), last stock change, SKUs and units on hand, pending and available',
    )
    .option('--json', "print the stores as JSON: the table's columns under the same names (ageMs in milliseconds)")
    .addHelpText('after', examples('shopctl stores', "shopctl stores --json | jq -r '.[] | select(.freshness == \"stale\") | .store'"))
    .action(
      run(storesOptionsSchema, async (context, options) => {
        const view = await storesView(context);
        if (options.json) return context.output.json(view.stores.map(storeJson));
        printStores(context.output, view);
      }),
    );
}
