/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );
}

/** A table: a header row and body rows of text cells; `numeric` columns are right-aligned. */
export interface ReportTable {
  /** Column titles. */
  header: readonly string[];
  /** Body rows, one text per column. */
  rows: ReadonlyArray<readonly string[]>;
  /** Indices of right-aligned (numeric) columns. */
  numeric?: readonly number[];
  /** Optional caption under the table. */
  caption?: string;
}

/** A part of a report: a heading, paragraphs, a table, charts. */
export interface ReportSection {
  /** Section title. */
  heading: string;
  /** Paragraphs of plain text (escaped). */
  paragraphs?: readonly string[];
  /** A table after the paragraphs. */
  table?: ReportTable;
  /** SVG documents, shown inline in a grid. */
  charts?: readonly string[];
}

/** A whole report. */
export interface ReportDocument {
  /** Page title and heading. */
  title: string;
  /** One line under the title (what was run, when). */
  subtitle?: string;
  /** The sections, in order. */
  sections: readonly ReportSection[];
}

/** An SVG document made ready to sit inside HTML: no XML prolog, no namespace URLs (HTML does not need them). */
export function inlineSvg(svg: string): string {
  return svg
    .replace(/^<\?xml[^>]*>\s*/, '')
    .replace(/\sxmlns(:xlink)?="[^"]*"/g, '')
    .replace(/\sxlink:href=/g, ' href=');
}

function renderTable(table: ReportTable): string {
  const numeric = new Set(table.numeric ?? []);
  const cell = (tag: 'th' | 'td', text: string, column: number): string =>
    `<${tag}${numeric.has(column) ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  return [
    '<table>',
    `<thead><tr>${table.header.map((text, column) => cell('th', text, column)).join('')}</tr></thead>`,
    '<tbody>',
    ...table.rows.map((row) => `<tr>${row.map((text, column) => cell('td', text, column)).join('')}</tr>`),
    '</tbody>',
    '</table>',
    table.caption === undefined ? '' : `<p class="caption">${escapeHtml(table.caption)}</p>`,
  ].join('\n');
}

/** The reports' style sheet: the study page uses it too, so both look the same. */
export const REPORT_STYLE = `
  body { font: 15px/1.5 Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1240px; padding: 0 16px; }
  h1 { font-size: 24px; margin-bottom: 4px; }
  .subtitle { color: #666; margin-top: 0; }
  h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }
  th, td { padding: 5px 12px; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
  th { background: #f5f5f5; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .caption { color: #666; font-size: 13px; margin-top: 0; }
  .charts { display: flex; flex-wrap: wrap; gap: 16px; }
  .charts svg { max-width: 100%; height: auto; border: 1px solid #eee; }
`;

/** A self-contained HTML page: inline CSS, inline SVG charts, no script, no external URL. */
export function renderHtmlReport(document: ReportDocument): string {
  const sections = document.sections.map((section) =>
    [
      `<section>`,
      `<h2>${escapeHtml(section.heading)}</h2>`,
      ...(section.paragraphs ?? []).map((text) => `<p>${escapeHtml(text)}</p>`),
      section.table === undefined ? '' : renderTable(section.table),
      section.charts === undefined || section.charts.length === 0
        ? ''
        : `<div class="charts">\n${section.charts.map(inlineSvg).join('\n')}\n</div>`,
      `</section>`,
    ]
      .filter((part) => part !== '')
      .join('\n'),
  );
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(document.title)}</title>`,
    `<style>${REPORT_STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(document.title)}</h1>`,
    document.subtitle === undefined ? '' : `<p class="subtitle">${escapeHtml(document.subtitle)}</p>`,
    ...sections,
    '</body>',
    '</html>',
    '',
  ]
    .filter((part) => part !== '')
    .join('\n');
}
