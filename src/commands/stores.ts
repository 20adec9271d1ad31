import { Command } from 'commander';
import { z } from 'zod';
import { idProblem, MAX_CAPACITY, MAX_CITY_LENGTH, STORE_ID_RULE } from '../domain/events.js';
import { UsageError } from '../errors.js';
import { storeDefinitionEvent, storesView, type StoreDefinition } from '../services/stores.js';
import { printStores, storeJson } from '../ui/stores.js';
import { examples, flagField, intField, positiveNumberField, run, viaField, viaOption, withRange } from './shared.js';
import { writeEvents } from './write.js';

export const storesOptionsSchema = z.object({ json: flagField });

const storeField = z.string().transform((value, ctx) => {
  const problem = idProblem(value, 'store');
  if (!problem) return value;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `--store: '${value}' is not a valid store id: ${problem} (${STORE_ID_RULE}).` });
  return z.NEVER;
});
const CAPACITY = { min: 1, max: MAX_CAPACITY };
const LAT = { min: -90, max: 90 };
const LON = { min: -180, max: 180 };
const cityField = z
  .string()
  .transform((value) => value.trim())
  .pipe(z.string().min(1, '--city: empty').max(MAX_CITY_LENGTH, `--city: at most ${MAX_CITY_LENGTH} characters`));

export const storesSetOptionsSchema = z.object({
  store: storeField,
  capacity: intField('--capacity', CAPACITY).optional(),
  lat: positiveNumberField('--lat', LAT).optional(),
  lon: positiveNumberField('--lon', LON).optional(),
  city: cityField.optional(),
  via: viaField,
  json: flagField,
});
export type StoresSetOptions = z.infer<typeof storesSetOptionsSchema>;

/** Defines a store: one `shop.store.defined.v1` through the chosen path. */
async function define(context: Parameters<Parameters<typeof run>[1]>[0], definition: StoreDefinition, via: 'db' | 'kafka', json: boolean): Promise<number> {
  return writeEvents(context, { what: 'store definitions', via, total: 1, chunks: [[storeDefinitionEvent(definition)]], json, repeatable: false });
}

function defineCommand(name: 'add' | 'set'): Command {
  const adding = name === 'add';
  return new Command(name)
    .description(
      adding
        ? 'define a store or warehouse: its capacity in units and where it is (a `shop.store.defined.v1` event, on the inventory topic keyed by the store)'
        : 'change some of a store\'s fields (the others are kept)',
    )
    .requiredOption('--store <id>', 'the store (the id its stock changes carry)')
    .option('--capacity <units>', withRange(adding ? 'units it can hold (required)' : 'units it can hold', CAPACITY))
    .option('--lat <degrees>', withRange('latitude', LAT))
    .option('--lon <degrees>', withRange('longitude', LON))
    .option('--city <name>', 'the city it is in')
    .addOption(viaOption())
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      adding
        ? examples('shopctl stores add --store berlin --capacity 50000 --lat 52.52 --lon 13.405 --city Berlin', 'shopctl stores add --store WH-1 --capacity 200000 --via kafka')
        : examples('shopctl stores set --store berlin --capacity 80000', 'shopctl stores set --store berlin --city Potsdam --lat 52.39 --lon 13.06 --via kafka'),
    )
    .action(
      run(storesSetOptionsSchema, async (context, options) => {
        const { store, capacity, lat, lon, city } = options;
        if (adding && capacity === undefined) throw new UsageError('--capacity is required to add a store', { suggestion: 'See `shopctl stores add --help`.' });
        if ((lat === undefined) !== (lon === undefined) && adding) throw new UsageError('--lat and --lon go together', { suggestion: 'Give both, or neither.' });
        if (capacity === undefined && lat === undefined && lon === undefined && city === undefined) {
          throw new UsageError('nothing to set: give at least one of --capacity, --lat, --lon, --city', { suggestion: 'See `shopctl stores set --help`.' });
        }
        return define(context, { store, capacity, lat, lon, city }, options.via, options.json);
      }),
    );
}

export function storesCommand(): Command {
  const stores = new Command('stores')
    .description(
      'every store the central view knows (from heartbeats, definitions and stock): last heartbeat, its age, fresh/STALE/unknown (availability.staleAfterSeconds), last stock change, SKUs and units on hand, pending and available, capacity and city; `stores add|set` define them',
    )
    .option('--json', "print the stores as JSON: the table's columns under the same names (ageMs in milliseconds)")
    .addHelpText('after', examples('shopctl stores', "shopctl stores --json | jq -r '.[] | select(.freshness == \"stale\") | .store'", 'shopctl stores add --store berlin --capacity 50000 --city Berlin --lat 52.52 --lon 13.405'))
    .action(
      run(storesOptionsSchema, async (context, options) => {
        const view = await storesView(context);
        if (options.json) return context.output.json(view.stores.map(storeJson));
        printStores(context.output, view);
      }),
    );
  stores.addCommand(defineCommand('add'));
  stores.addCommand(defineCommand('set'));
  return stores;
}
