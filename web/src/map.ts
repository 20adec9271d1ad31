import type { CapacityRow } from './api.js';
import { empty, h, int, pct, svg } from './dom.js';

// Stores and warehouses placed by longitude and latitude (an equirectangular projection fitted
// to the points, with a margin): no map tiles, nothing fetched. Circle area follows units on
// hand; colour, the share of capacity used. Each circle is focusable and says what it shows.

const WIDTH = 640;
const HEIGHT = 280;
const PAD = 28;

export function capacityTone(used: number | null): 'good' | 'warn' | 'bad' | 'none' {
  if (used === null) return 'none';
  return used >= 90 ? 'bad' : used >= 70 ? 'warn' : 'good';
}

export function renderMap(rows: readonly CapacityRow[]): HTMLElement {
  if (rows.length === 0) return empty();
  const placed = rows.filter((row): row is CapacityRow & { lat: number; lon: number } => row.lat !== null && row.lon !== null);
  const unplaced = rows.filter((row) => row.lat === null || row.lon === null);
  const lons = placed.map((row) => row.lon);
  const lats = placed.map((row) => row.lat);
  const [minLon, maxLon] = [Math.min(...lons), Math.max(...lons)];
  const [minLat, maxLat] = [Math.min(...lats), Math.max(...lats)];
  const spanLon = Math.max(maxLon - minLon, 1);
  const spanLat = Math.max(maxLat - minLat, 1);
  const scale = Math.min((WIDTH - 2 * PAD) / spanLon, (HEIGHT - 2 * PAD) / spanLat);
  const maxOnHand = Math.max(1, ...rows.map((row) => row.onHand));
  const x = (lon: number) => WIDTH / 2 + (lon - (minLon + maxLon) / 2) * scale;
  const y = (lat: number) => HEIGHT / 2 - (lat - (minLat + maxLat) / 2) * scale;
  const describe = (row: CapacityRow) =>
    `${row.store}${row.city ? ` (${row.city})` : ''}: ${int(row.onHand)} units on hand${row.capacity === null ? '' : ` of ${int(row.capacity)}`}, ${pct(row.usedPercent)} of capacity used${row.freshness ? `, ${row.freshness}` : ''}`;
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'map', role: 'group', 'aria-label': 'stores and warehouses by location' },
    svg('rect', { x: 0, y: 0, width: WIDTH, height: HEIGHT, class: 'sea' }),
    ...placed.map((row) => {
      const radius = 6 + 22 * Math.sqrt(row.onHand / maxOnHand);
      return svg(
        'g',
        { class: `site ${capacityTone(row.usedPercent)}${row.freshness === 'stale' ? ' stale' : ''}`, tabindex: 0, role: 'img', 'aria-label': describe(row), 'data-store': row.store },
        svg('title', {}, describe(row)),
        svg('circle', { cx: x(row.lon).toFixed(1), cy: y(row.lat).toFixed(1), r: radius.toFixed(1) }),
        svg('text', { x: x(row.lon).toFixed(1), y: (y(row.lat) + radius + 12).toFixed(1), 'text-anchor': 'middle' }, row.store),
      );
    }),
  );
  const legend = h(
    'p',
    { class: 'legend' },
    h('span', { class: 'key good' }, '< 70 %'),
    h('span', { class: 'key warn' }, '70–90 %'),
    h('span', { class: 'key bad' }, '≥ 90 %'),
    h('span', { class: 'key none' }, 'capacity unknown'),
  );
  return h('div', {}, chart, legend, unplaced.length > 0 ? h('p', { class: 'muted' }, `without a location: ${unplaced.map((row) => `${row.store} (${int(row.onHand)})`).join(', ')}`) : null);
}
