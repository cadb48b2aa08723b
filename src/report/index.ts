/**
 * Reports of the studies: learning curves as SVG (rendered offline with Vega-Lite) and self-contained HTML
 * pages (inline CSS and SVG, no script, no external URL).
 * @module
 */
export {
  type ChartMarker,
  type ChartSeries,
  type LineChartSpec,
  lineChartSpec,
  renderLineChart,
  SERIES_COLORS,
} from './charts.js';
export { epochPoints, meanCurve } from './curves.js';
export { writeTextFiles } from './files.js';
export {
  escapeHtml,
  inlineSvg,
  renderHtmlReport,
  REPORT_STYLE,
  type ReportDocument,
  type ReportSection,
  type ReportTable,
} from './html.js';
export { optimizerReportTable, type WrittenReport, writeOptimizerReport } from './optimizers.js';
export { writeTransferReport } from './transfer.js';
