import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// Time series with uPlot: a canvas chart of ~50 kB that draws thousands of points in a few
// milliseconds; it takes columns (times, then one array per series) and redraws on setData.

const stepped = uPlot.paths.stepped?.({ align: 1 });

const css = (name: string, fallback: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export interface Series {
  label: string;
  colour: string;
  /** Right-hand axis (a second unit). */
  right?: boolean;
  /** A level that holds until the next change (stock): drawn as steps. */
  stepped?: boolean;
}

export interface TimeChart {
  set(data: uPlot.AlignedData): void;
  resize(width: number): void;
  destroy(): void;
}

export function timeChart(into: HTMLElement, series: readonly Series[], options: { height?: number; label: string }): TimeChart {
  const axis = css('--muted', '#888');
  const grid = css('--grid', 'rgba(128,128,128,0.2)');
  const hasRight = series.some((one) => one.right);
  const plot = new uPlot(
    {
      width: Math.max(200, into.clientWidth),
      height: options.height ?? 160,
      legend: { show: true, live: false },
      cursor: { show: true, drag: { x: false, y: false } },
      scales: { x: { time: true }, ...(hasRight ? { right: { auto: true } } : {}) },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 50 },
        ...(hasRight ? [{ scale: 'right', side: 1, stroke: axis, grid: { show: false }, size: 50 }] : []),
      ],
      series: [{}, ...series.map((one) => ({ label: one.label, stroke: one.colour, width: 2, spanGaps: true, points: { show: false }, ...(one.right ? { scale: 'right' } : {}), ...(one.stepped ? { paths: stepped } : {}) }))],
    },
    [[], ...series.map(() => [])],
    into,
  );
  plot.root.setAttribute('role', 'img');
  plot.root.setAttribute('aria-label', options.label);
  return {
    set: (data) => plot.setData(data),
    resize: (width) => plot.setSize({ width: Math.max(200, width), height: options.height ?? 160 }),
    destroy: () => plot.destroy(),
  };
}
