// A few DOM helpers: every value from the server goes in as text (never as markup).

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

export interface Column<T> {
  header: string;
  value: (row: T) => Child;
  numeric?: boolean;
}

/** A table in a scrollable, focusable region (so the keyboard can scroll it). */
export function table<T>(label: string, rows: readonly T[], columns: ReadonlyArray<Column<T>>): HTMLElement {
  return h(
    'div',
    { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': label },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...columns.map((column) => h('th', { scope: 'col', class: column.numeric ? 'num' : undefined }, column.header)))),
      h('tbody', {}, ...rows.map((row) => h('tr', {}, ...columns.map((column) => h('td', { class: column.numeric ? 'num' : undefined }, column.value(row)))))),
    ),
  );
}

export const empty = (text = 'no data yet'): HTMLElement => h('p', { class: 'empty' }, text);

export const int = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : Math.round(value).toLocaleString('en'));
export const pct = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : `${value.toFixed(value < 10 ? 1 : 0)} %`);
export const money = (value: { amount: number; currency: string } | null): string => (value === null ? '–' : `${(value.amount / 100).toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${value.currency}`);

export function age(ms: number | null): string {
  if (ms === null) return 'never';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

/** A bar 0-100 % drawn with CSS, with the number beside it. */
export function bar(percent: number | null, tone: 'good' | 'warn' | 'bad' = 'good'): HTMLElement {
  const width = percent === null ? 0 : Math.max(0, Math.min(100, percent));
  return h('span', { class: 'bar' }, h('span', { class: `fill ${tone}`, style: `width:${width.toFixed(1)}%` }), h('span', { class: 'label' }, pct(percent)));
}

/** Replaces a panel's body. */
export function fill(panel: string, ...children: Child[]): void {
  const body = document.querySelector(`#${panel} .body`);
  if (!body) return;
  body.replaceChildren();
  append(body, children);
}
