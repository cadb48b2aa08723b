import type { TopLevelSpec } from 'vega-lite';

/** One line of a chart. */
export interface ChartSeries {
  /** The line's name: its color group in the legend (`Adam`, `B on A`). */
  name: string;
  /** A second legend grouping drawn as the dash pattern (`seed` / `tuned`, `training` / `validation`). */
  dash?: string;
  /** `[x, y]` points; a null or non-finite y leaves a gap (a diverged run ends there). */
  points: ReadonlyArray<readonly [number, number | null]>;
}

/** A vertical line across the plot, labelled (the freeze/unfreeze boundary). */
export interface ChartMarker {
  /** Where on the x axis. */
  x: number;
  /** Text next to the line. */
  label: string;
}

/** A line chart: one line per series, a legend, optional markers. */
export interface LineChartSpec {
  /** Title above the plot. */
  title: string;
  /** Optional smaller line under the title. */
  subtitle?: string;
  /** X axis title (default `epoch`). */
  xTitle?: string;
  /** Y axis title. */
  yTitle: string;
  /** The lines. */
  series: readonly ChartSeries[];
  /** Legend title of the colors (default none). */
  colorTitle?: string;
  /** Legend title of the dash patterns (default none). */
  dashTitle?: string;
  /** Order of the dash groups; the first is solid (default: order of appearance). */
  dashOrder?: readonly string[];
  /** `'log'` for losses that span decades (default `'linear'`). */
  yScale?: 'linear' | 'log';
  /** Fixed y range (default: fitted to the data, not forced to include 0). */
  yDomain?: readonly [number, number];
  /** Integer epochs on x (default true). */
  integerX?: boolean;
  /** Vertical markers. */
  markers?: readonly ChartMarker[];
  /** Plot width in pixels (default 600). */
  width?: number;
  /** Plot height in pixels (default 300). */
  height?: number;
}

/**
 * Colors that stay apart for up to ten lines and print well (Tableau 10, reordered so the first few contrast
 * most).
 */
export const SERIES_COLORS: readonly string[] = [
  '#4e79a7',
  '#e15759',
  '#59a14f',
  '#f28e2b',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const DASHES: ReadonlyArray<readonly number[]> = [
  [1, 0],
  [6, 4],
  [2, 3],
  [8, 3, 2, 3],
];

/** The Vega-Lite specification of a chart (exported for tests and for people who want to restyle it). */
export function lineChartSpec(spec: LineChartSpec): TopLevelSpec {
  const names = [...new Set(spec.series.map((series) => series.name))];
  const dashGroups = spec.dashOrder ?? [
    ...new Set(spec.series.flatMap((series) => (series.dash === undefined ? [] : [series.dash]))),
  ];
  const values = spec.series.flatMap((series, index) =>
    series.points.map(([x, y]) => ({
      series: series.name,
      dash: series.dash ?? '',
      line: index,
      x,
      y: y !== null && Number.isFinite(y) && (spec.yScale !== 'log' || y > 0) ? y : null,
    })),
  );
  const xs = values.map((value) => value.x);
  const markers = spec.markers ?? [];
  const allX = [...xs, ...markers.map((marker) => marker.x)];
  const xMin = allX.length > 0 ? Math.min(...allX) : 0;
  const xMax = allX.length > 0 ? Math.max(...allX, xMin + 1) : 1;
  const integerX = spec.integerX ?? true;
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: spec.xTitle ?? 'epoch',
    scale: { domain: [xMin, xMax], nice: false, zero: false },
    axis: integerX ? { tickMinStep: 1, format: 'd', grid: true } : { grid: true },
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: spec.yTitle,
    scale: {
      type: spec.yScale ?? 'linear',
      ...(spec.yScale === 'log' ? {} : { zero: false }),
      ...(spec.yDomain === undefined ? {} : { domain: [...spec.yDomain] }),
    },
    // On a log axis, label only 1, 2 and 5 of each decade: every tick labelled is unreadable.
    ...(spec.yScale === 'log'
      ? {
          axis: {
            labelExpr:
              "indexof(['1', '2', '5'], substring(format(datum.value, '.0e'), 0, 1)) >= 0 ? datum.label : ''",
          },
        }
      : {}),
  };
  const hasDash = dashGroups.length > 1;
  const lineLayer = {
    data: { values },
    mark: {
      type: 'line' as const,
      strokeWidth: 2,
      point: xs.length > 0 && new Set(xs).size <= 30 ? { size: 22, filled: true } : false,
      clip: true,
    },
    encoding: {
      x,
      y,
      color: {
        field: 'series',
        type: 'nominal' as const,
        title: spec.colorTitle ?? null,
        scale: { domain: names, range: names.map((_, i) => SERIES_COLORS[i % SERIES_COLORS.length]) },
        legend: { orient: 'right' as const, labelLimit: 260, symbolStrokeWidth: 3 },
      },
      detail: { field: 'line', type: 'nominal' as const },
      ...(hasDash
        ? {
            strokeDash: {
              field: 'dash',
              type: 'nominal' as const,
              title: spec.dashTitle ?? null,
              scale: { domain: dashGroups, range: dashGroups.map((_, i) => DASHES[i % DASHES.length]) },
              legend: {
                orient: 'right' as const,
                labelLimit: 260,
                symbolType: 'stroke',
                symbolStrokeWidth: 2,
                symbolSize: 500,
                // Vega-Lite leaves dash symbols without a stroke color: give them one.
                encode: { symbols: { update: { stroke: { value: '#444' } } } },
              },
            },
          }
        : {}),
      order: { field: 'x', type: 'quantitative' as const },
    },
  };
  const markerLayers =
    markers.length === 0
      ? []
      : [
          {
            data: { values: markers.map((marker) => ({ x: marker.x, label: marker.label })) },
            mark: { type: 'rule' as const, color: '#555', strokeDash: [4, 4], strokeWidth: 1.5 },
            encoding: { x: { field: 'x', type: 'quantitative' as const } },
          },
          {
            data: { values: markers.map((marker) => ({ x: marker.x, label: marker.label })) },
            mark: {
              type: 'text' as const,
              align: 'left' as const,
              baseline: 'top' as const,
              dx: 4,
              dy: 4,
              y: 0,
              fontSize: 11,
              color: '#333',
            },
            encoding: {
              x: { field: 'x', type: 'quantitative' as const },
              text: { field: 'label', type: 'nominal' as const },
            },
          },
        ];
  return {
    title: {
      text: spec.title,
      ...(spec.subtitle === undefined ? {} : { subtitle: spec.subtitle }),
      anchor: 'start',
      fontSize: 15,
    },
    width: spec.width ?? 600,
    height: spec.height ?? 300,
    background: 'white',
    padding: 8,
    config: {
      font: 'Helvetica, Arial, sans-serif',
      axis: { labelFontSize: 12, titleFontSize: 13, gridColor: '#e6e6e6' },
      legend: { labelFontSize: 12, titleFontSize: 12 },
      view: { stroke: '#ccc' },
    },
    layer: [lineLayer, ...markerLayers],
  } as TopLevelSpec;
}

/**
 * Renders a line chart to a standalone SVG document, offline (no browser, no canvas). Vega is loaded on the
 * first call, so importing the report module costs nothing until a chart is drawn.
 */
export async function renderLineChart(spec: LineChartSpec): Promise<string> {
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const vega = compile(lineChartSpec(spec)).spec;
  const view = new View(parse(vega), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
