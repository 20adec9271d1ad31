import './style.css';
import {
  getJson,
  type Alert,
  type AlertsMessage,
  type AppliedMessage,
  type CapacityRow,
  type Fetched,
  type GlobalRow,
  type Health,
  type HistoryRow,
  type LowRow,
  type Product,
  type RangeRow,
  type SalesRow,
  type StatsMessage,
  type StockRow,
  type TopSellerRow,
} from './api.js';
import { timeChart, type TimeChart } from './charts.js';
import { age, bar, empty, fill, h, int, money, table } from './dom.js';
import { renderMap } from './map.js';

// The live dashboard: panels read the shop's API once at start, and again (at most every half
// second per panel) after the live stream says events were applied; nothing polls the database
// on a timer. Throughput and lag come on the stream itself (`stats`, about once a second).

const REFRESH_GAP_MS = 500;
/** Without any message for this long (stats come every second), the stream is taken as gone. */
const SILENT_MS = 5000;
const HISTORY_POINTS = 180;

// ---- refreshing: at most once per gap, never two at a time, never a change missed -----------

function refresher(work: () => Promise<void>, gapMs = REFRESH_GAP_MS): () => void {
  let timer: number | undefined;
  let running = false;
  let again = false;
  let last = 0;
  const go = async (): Promise<void> => {
    timer = undefined;
    running = true;
    last = Date.now();
    try {
      await work();
    } finally {
      running = false;
      if (again) {
        again = false;
        request();
      }
    }
  };
  const request = (): void => {
    if (running) {
      again = true;
      return;
    }
    if (timer !== undefined) return;
    timer = window.setTimeout(() => void go(), Math.max(0, last + gapMs - Date.now()));
  };
  return request;
}

/** Endpoints this server does not have (answered 404 `no endpoint`): not asked again until the stream reconnects. */
const missing = new Set<string>();

async function read<T>(url: string): Promise<Fetched<T>> {
  const key = url.split('?')[0] ?? url;
  if (missing.has(key)) return { state: 'missing' };
  const result = await getJson<T>(url);
  if (result.state === 'missing') missing.add(key);
  return result;
}

const failed = (message: string): HTMLElement => h('p', { class: 'empty error' }, `could not read: ${message}`);
const source = (text: string): HTMLElement => h('p', { class: 'source muted' }, text);

// ---- products (names for the panels and the search) -----------------------------------------

const products = new Map<string, Product>();
async function loadProducts(): Promise<void> {
  const page = await read<{ items: Product[] }>('/products?limit=1000');
  if (page.state !== 'ok') return;
  products.clear();
  for (const product of page.data.items) products.set(product.sku, product);
  const list = document.getElementById('product-names');
  list?.replaceChildren(...page.data.items.map((product) => h('option', { value: product.sku }, product.name)));
}
const nameOf = (sku: string): string => products.get(sku)?.name ?? '';

// ---- the panels ------------------------------------------------------------------------------

const loadMap = refresher(async () => {
  const rows = await read<CapacityRow[]>('/analytics/capacity');
  if (rows.state === 'ok') fill('panel-map', renderMap(rows.data));
  else fill('panel-map', rows.state === 'missing' ? empty() : failed(rows.message));
});

const loadRange = refresher(async () => {
  const rows = await read<RangeRow[]>('/analytics/range?lowest=10');
  if (rows.state !== 'ok') return fill('panel-range', rows.state === 'missing' ? empty() : failed(rows.message));
  if (rows.data.length === 0) return fill('panel-range', empty());
  fill(
    'panel-range',
    table('least available items', rows.data, [
      { header: 'SKU', value: (row) => skuLink(row.sku) },
      { header: 'store', value: (row) => row.store ?? 'all' },
      { header: 'level', value: (row) => int(row.level), numeric: true },
      { header: 'max', value: (row) => int(row.maxLevel), numeric: true },
      { header: 'of max', value: (row) => bar(row.percent, row.percent === null ? 'good' : row.percent < 10 ? 'bad' : row.percent < 25 ? 'warn' : 'good') },
    ]),
  );
});

const loadLow = refresher(async () => {
  const rows = await read<LowRow[]>('/analytics/low?limit=10');
  if (rows.state === 'ok') {
    if (rows.data.length === 0) return fill('panel-low', empty('nothing low'));
    return fill(
      'panel-low',
      table('low global quantity', rows.data, [
        { header: 'SKU', value: (row) => skuLink(row.sku) },
        { header: 'product', value: (row) => row.name ?? nameOf(row.sku) },
        { header: 'available', value: (row) => int(row.available ?? row.onHand), numeric: true },
      ]),
    );
  }
  if (rows.state === 'error') return fill('panel-low', failed(rows.message));
  // Until /analytics/low is there: the lowest available over all stores, from /stock/global.
  const global = await read<GlobalRow[]>('/stock/global');
  if (global.state !== 'ok') return fill('panel-low', global.state === 'missing' ? empty() : failed(global.message));
  const lowest = [...global.data].sort((a, b) => a.available - b.available || (a.sku < b.sku ? -1 : 1)).slice(0, 10);
  if (lowest.length === 0) return fill('panel-low', empty());
  fill(
    'panel-low',
    table('low global quantity', lowest, [
      { header: 'SKU', value: (row) => skuLink(row.sku) },
      { header: 'product', value: (row) => nameOf(row.sku) },
      { header: 'available', value: (row) => int(row.available), numeric: true },
      { header: 'on hand', value: (row) => int(row.onHand), numeric: true },
      { header: 'stores', value: (row) => (row.staleStores > 0 ? `${row.stores} (${row.staleStores} stale)` : String(row.stores)), numeric: true },
    ]),
    source('lowest available over all stores (/stock/global)'),
  );
});

const loadTop = refresher(async () => {
  const rows = await read<TopSellerRow[]>('/analytics/top-sellers?window=1h&top=10');
  if (rows.state === 'ok') {
    if (rows.data.length === 0) return fill('panel-top', empty('no sales in the last hour'));
    return fill(
      'panel-top',
      table('top sellers in the last hour', rows.data.map((row, index) => ({ ...row, rank: index + 1 })), [
        { header: '#', value: (row) => row.rank, numeric: true },
        { header: 'SKU', value: (row) => skuLink(row.sku) },
        { header: 'product', value: (row) => row.name ?? nameOf(row.sku) },
        { header: 'sold', value: (row) => int(row.quantity ?? row.sold), numeric: true },
      ]),
      source('last hour'),
    );
  }
  if (rows.state === 'error') return fill('panel-top', failed(rows.message));
  const sales = await read<SalesRow[]>('/sales?top=10');
  if (sales.state !== 'ok') return fill('panel-top', sales.state === 'missing' ? empty() : failed(sales.message));
  if (sales.data.length === 0) return fill('panel-top', empty('no sales yet'));
  fill(
    'panel-top',
    table(
      'top sellers',
      sales.data.map((row, index) => ({ ...row, rank: index + 1 })),
      [
        { header: '#', value: (row) => row.rank, numeric: true },
        { header: 'SKU', value: (row) => skuLink(row.sku) },
        { header: 'product', value: (row) => row.name ?? nameOf(row.sku) },
        { header: 'sold', value: (row) => int(row.quantity), numeric: true },
        { header: 'revenue', value: (row) => money(row.revenue), numeric: true },
      ],
    ),
    source('all time (/sales)'),
  );
});

let health: { at: number; data: Health } | null = null;
function renderFreshness(): void {
  if (health === null) return;
  const since = Date.now() - health.at;
  const { stores } = health.data;
  if (stores.list.length === 0) return fill('panel-freshness', empty('no stores yet'));
  fill(
    'panel-freshness',
    h('p', { class: 'counts' }, h('span', { class: 'tag fresh' }, `${stores.fresh} fresh`), h('span', { class: 'tag stale' }, `${stores.stale} stale`), h('span', { class: 'tag unknown' }, `${stores.unknown} never heard`)),
    table('store freshness', stores.list, [
      { header: 'store', value: (row) => row.store },
      { header: 'state', value: (row) => h('span', { class: `tag ${row.freshness}` }, row.freshness) },
      { header: 'last heartbeat', value: (row) => age(row.ageMs === null ? null : row.ageMs + since), numeric: true },
    ]),
  );
}
const loadFreshness = refresher(async () => {
  const answer = await read<Health>('/healthz');
  if (answer.state !== 'ok') return fill('panel-freshness', answer.state === 'missing' ? empty() : failed(answer.message));
  health = { at: Date.now(), data: answer.data };
  renderFreshness();
}, 2000);

// ---- alerts (from the stream: a snapshot first, then changes) --------------------------------

const alerts = new Map<string, Alert>();
function renderAlerts(): void {
  const rows = [...alerts.values()].sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : 1) : a.kind === 'out_of_stock' ? -1 : 1));
  const heading = document.getElementById('h-alerts');
  if (heading) heading.textContent = rows.length === 0 ? 'Open alerts' : `Open alerts (${rows.length})`;
  if (rows.length === 0) return fill('panel-alerts', empty('no open alerts'));
  fill(
    'panel-alerts',
    table('open alerts', rows.slice(0, 50), [
      { header: 'kind', value: (row) => h('span', { class: `tag ${row.kind === 'out_of_stock' ? 'bad' : 'warn'}` }, row.kind === 'out_of_stock' ? 'out' : 'low') },
      { header: 'store', value: (row) => row.store },
      { header: 'SKU', value: (row) => skuLink(row.sku) },
      { header: 'level', value: (row) => `${int(row.level)} / ${int(row.threshold)}`, numeric: true },
    ]),
    rows.length > 50 ? source(`the first 50 of ${rows.length}`) : null,
  );
}
function onAlerts(message: AlertsMessage): void {
  if (message.snapshot) alerts.clear();
  for (const cleared of message.cleared) alerts.delete(cleared.key);
  for (const raised of message.raised) alerts.set(raised.key, raised);
  renderAlerts();
}

// ---- throughput and lag (from the stream's stats) --------------------------------------------

const series: [number[], Array<number | null>, Array<number | null>] = [[], [], []];
let throughputChart: TimeChart | null = null;
let lastStats: StatsMessage | null = null;
function renderThroughput(): void {
  const body = document.querySelector<HTMLElement>('#panel-throughput .body');
  if (!body) return;
  if (!body.querySelector('.figures')) {
    body.replaceChildren(h('p', { class: 'figures' }), h('div', { class: 'chart' }));
    throughputChart?.destroy();
    throughputChart = timeChart(body.querySelector<HTMLElement>('.chart')!, [{ label: 'events/s', colour: '#3b82f6' }, { label: 'lag', colour: '#f59e0b', right: true }], { label: 'events applied per second and consumer lag, last 3 minutes' });
  }
  const figures = body.querySelector('.figures')!;
  const stats = lastStats;
  figures.replaceChildren(
    h('span', { class: 'figure', 'data-testid': 'eps' }, h('b', {}, stats ? stats.eventsPerSecond.toLocaleString('en') : '–'), ' events/s applied'),
    h('span', { class: 'figure', 'data-testid': 'lag' }, h('b', {}, stats?.lag === null || stats === null ? '–' : int(stats.lag)), stats?.lag === null ? ' lag (serve --consume reports it)' : ' consumer lag'),
    h('span', { class: 'figure muted', 'data-testid': 'applied' }, `${stats ? int(stats.applied) : '–'} applied since the server started`),
  );
  throughputChart?.set(series);
}
function onStats(message: StatsMessage): void {
  lastStats = message;
  series[0].push(Date.parse(message.at) / 1000);
  series[1].push(message.eventsPerSecond);
  series[2].push(message.lag);
  if (series[0].length > HISTORY_POINTS) for (const column of series) column.shift();
  renderThroughput();
  // Ages move on without events.
  renderFreshness();
}

// ---- search: one SKU's stock per store and its history ---------------------------------------

let selected: string | null = null;
let historyChart: TimeChart | null = null;

function resolveSku(query: string): string | null {
  const text = query.trim();
  if (text === '') return null;
  const upper = text.toUpperCase();
  if (products.has(text)) return text;
  if (products.has(upper)) return upper;
  const lower = text.toLowerCase();
  const all = [...products.values()];
  const named = all.find((product) => product.name.toLowerCase() === lower) ?? all.find((product) => product.name.toLowerCase().includes(lower));
  return named?.sku ?? text;
}

function skuLink(sku: string): HTMLElement {
  return h('a', { href: `#sku=${encodeURIComponent(sku)}`, class: 'sku' }, sku);
}

const loadSearch = refresher(async () => {
  const sku = selected;
  const panel = document.getElementById('panel-search');
  if (!panel) return;
  if (sku === null) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const heading = document.getElementById('h-search');
  if (heading) heading.textContent = `${sku}${nameOf(sku) ? ` · ${nameOf(sku)}` : ''}`;
  const [stock, history] = await Promise.all([read<{ items: StockRow[] }>(`/stock?sku=${encodeURIComponent(sku)}&limit=1000`), read<{ items: HistoryRow[]; total: number }>(`/stock/history?sku=${encodeURIComponent(sku)}&limit=500`)]);
  if (selected !== sku) return;
  const parts: HTMLElement[] = [];
  if (stock.state === 'error') parts.push(failed(stock.message));
  else if (stock.state === 'ok' && stock.data.items.length > 0) {
    parts.push(
      h('h3', {}, 'Stock per store'),
      table(`stock of ${sku} per store`, stock.data.items, [
        { header: 'store', value: (row) => row.store },
        { header: 'on hand', value: (row) => int(row.onHand), numeric: true },
        { header: 'pending', value: (row) => int(row.pending), numeric: true },
        { header: 'available', value: (row) => int(row.available), numeric: true },
        { header: 'status', value: (row) => h('span', { class: `tag ${row.status === 'ok' ? 'fresh' : row.status === 'low' ? 'warn' : 'bad'}` }, row.status) },
        { header: 'store state', value: (row) => h('span', { class: `tag ${row.freshness}` }, row.freshness) },
      ]),
    );
  } else parts.push(empty(`no stock of ${sku} at any store`));
  const chartBox = h('div', { class: 'chart' });
  if (history.state === 'ok' && history.data.items.length > 0) {
    const rows = history.data.items;
    parts.push(h('h3', {}, `History (latest ${rows.length} of ${history.data.total} changes)`), chartBox);
    parts.push(
      table(
        `latest changes of ${sku}`,
        rows.slice(-10).reverse(),
        [
          { header: 'time', value: (row) => row.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z') },
          { header: 'store', value: (row) => row.store },
          { header: 'type', value: (row) => row.type },
          { header: 'change', value: (row) => (row.change === null ? `=${row.level}` : row.change > 0 ? `+${row.change}` : String(row.change)), numeric: true },
          { header: 'level', value: (row) => int(row.level), numeric: true },
        ],
      ),
    );
  } else if (history.state === 'missing') parts.push(empty('no history on this server'));
  else if (history.state === 'error') parts.push(failed(history.message));
  fill('panel-search', ...parts);
  historyChart?.destroy();
  historyChart = null;
  if (history.state === 'ok' && history.data.items.length > 0) {
    // One line per store: its level after each change (null where another store changed).
    const rows = history.data.items;
    const stores = [...new Set(rows.map((row) => row.store))].slice(0, 6);
    const times = rows.map((row) => Date.parse(row.time) / 1000);
    const columns = stores.map((store) => rows.map((row) => (row.store === store ? row.level : null)));
    const colours = ['#3b82f6', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6', '#14b8a6'];
    historyChart = timeChart(chartBox, stores.map((store, index) => ({ label: store, colour: colours[index] ?? '#888', stepped: true })), { height: 180, label: `level of ${sku} per store over time` });
    historyChart.set([times, ...columns]);
  }
});

function select(sku: string | null): void {
  selected = sku;
  const hash = sku === null ? '' : `#sku=${encodeURIComponent(sku)}`;
  if (location.hash !== hash) history.replaceState(null, '', hash === '' ? location.pathname : hash);
  loadSearch();
}

function fromHash(): void {
  const match = /^#sku=(.+)$/.exec(location.hash);
  const sku = match?.[1] ? decodeURIComponent(match[1]) : null;
  if (sku !== selected) select(sku);
  const input = document.getElementById('search') as HTMLInputElement | null;
  if (input && sku !== null) input.value = sku;
}

// ---- the stream ------------------------------------------------------------------------------

type Connection = 'connecting' | 'live' | 'reconnecting';
let stream: EventSource | null = null;
let lastMessage = 0;
let downSince: number | null = null;
let everConnected = false;

function setConnection(state: Connection, why = ''): void {
  const pill = document.getElementById('connection');
  const banner = document.getElementById('banner');
  if (pill) {
    pill.dataset.state = state;
    pill.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'disconnected';
  }
  if (!banner) return;
  if (state === 'live') {
    banner.hidden = true;
    banner.textContent = '';
    return;
  }
  if (state === 'reconnecting') {
    downSince ??= Date.now();
    banner.hidden = false;
    banner.textContent = `Disconnected from the live stream${why ? ` (${why})` : ''} since ${new Date(downSince).toLocaleTimeString()}: reconnecting… The panels show the data as of then.`;
  }
}

function refreshAll(): void {
  loadMap();
  loadRange();
  loadLow();
  loadTop();
  loadFreshness();
  if (selected !== null) loadSearch();
}

function onApplied(message: AppliedMessage): void {
  const types = Object.keys(message.byType);
  const moves = types.some((type) => /^shop\.(stock|purchase|reservation)\./.test(type));
  if (moves) {
    loadMap();
    loadRange();
    loadLow();
  }
  if (types.some((type) => type === 'shop.purchase.made.v1' || type === 'shop.stock.sold.v1')) loadTop();
  if (types.some((type) => type.startsWith('shop.store.'))) loadFreshness();
  if (types.includes('shop.product.added.v1')) void loadProducts();
  if (selected !== null && moves && (message.truncated || message.events.some((event) => event.data?.sku === selected))) loadSearch();
}

function connect(): void {
  stream?.close();
  const source = new EventSource('/events');
  stream = source;
  source.addEventListener('open', () => {
    lastMessage = Date.now();
    const again = everConnected;
    everConnected = true;
    downSince = null;
    setConnection('live');
    // Back after a gap: what changed meanwhile was not on the stream.
    if (again) {
      missing.clear();
      void loadProducts();
      refreshAll();
    }
  });
  source.addEventListener('error', () => {
    if (stream !== source) return;
    setConnection('reconnecting', source.readyState === EventSource.CLOSED ? 'the server refused it' : 'the connection was lost');
    // The browser retries by itself (retry: 2000) unless the answer closed it for good.
    if (source.readyState === EventSource.CLOSED) window.setTimeout(() => stream === source && connect(), 3000);
  });
  const on = (name: string, handle: (data: unknown) => void): void =>
    source.addEventListener(name, (event) => {
      lastMessage = Date.now();
      if (stream !== source) return;
      try {
        handle(JSON.parse((event as MessageEvent<string>).data) as unknown);
      } catch {
        // A message this page does not understand: the next one will do.
      }
    });
  on('hello', () => undefined);
  on('applied', (data) => onApplied(data as AppliedMessage));
  on('alerts', (data) => onAlerts(data as AlertsMessage));
  on('stats', (data) => onStats(data as StatsMessage));
  on('bye', () => setConnection('reconnecting', 'the server is stopping'));
}

// A connection that went silent (no stats for seconds) is as good as lost: say so, and reconnect.
window.setInterval(() => {
  if (stream && stream.readyState === EventSource.OPEN && Date.now() - lastMessage > SILENT_MS) {
    setConnection('reconnecting', 'no message for a while');
    connect();
  }
}, 1000);

// ---- theme and keyboard ----------------------------------------------------------------------

type Theme = 'auto' | 'light' | 'dark';
const THEMES: Theme[] = ['auto', 'dark', 'light'];
function applyTheme(theme: Theme): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  const button = document.getElementById('theme');
  if (button) {
    button.textContent = `Theme: ${theme}`;
    button.setAttribute('aria-pressed', theme === 'auto' ? 'false' : 'true');
  }
  try {
    localStorage.setItem('shopctl-theme', theme);
  } catch {
    // private mode: the theme lasts this visit
  }
  // Canvas charts take their colours when made: make them again.
  const body = document.querySelector('#panel-throughput .body');
  body?.replaceChildren();
  renderThroughput();
  if (selected !== null) loadSearch();
}
function currentTheme(): Theme {
  const stored = (() => {
    try {
      return localStorage.getItem('shopctl-theme');
    } catch {
      return null;
    }
  })();
  return THEMES.includes(stored as Theme) ? (stored as Theme) : 'auto';
}
const nextTheme = (): void => applyTheme(THEMES[(THEMES.indexOf(currentTheme()) + 1) % THEMES.length] ?? 'auto');

function typing(target: EventTarget | null): boolean {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable);
}

function start(): void {
  applyTheme(currentTheme());
  document.getElementById('theme')?.addEventListener('click', nextTheme);
  const input = document.getElementById('search') as HTMLInputElement;
  document.getElementById('search-form')?.addEventListener('submit', (event) => {
    event.preventDefault();
    select(resolveSku(input.value));
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      input.value = '';
      select(null);
      input.blur();
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === '/') {
      event.preventDefault();
      input.focus();
      input.select();
    } else if (event.key === 't') nextTheme();
  });
  window.addEventListener('hashchange', fromHash);
  let width = 0;
  new ResizeObserver(() => {
    const box = document.querySelector<HTMLElement>('#panel-throughput .chart');
    if (box && Math.abs(box.clientWidth - width) > 8) {
      width = box.clientWidth;
      throughputChart?.resize(width);
    }
  }).observe(document.getElementById('panels')!);
  renderAlerts();
  renderThroughput();
  connect();
  void loadProducts().then(fromHash);
  refreshAll();
}

start();
