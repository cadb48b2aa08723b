import type { BaseModel } from './baseModel.js';

function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}

/** Keras 3's summary table for a model. */
export function formatSummary(model: BaseModel): string {
  const rows = model.layers.map((layer) => {
    const shape = model.outputShapeOf(layer);
    return [
      `${layer.name} (${layer.className})`,
      shape === null ? '?' : `(None, ${shape.join(', ')})`,
      layer.built ? formatCount(layer.countParams()) : '0 (unbuilt)',
    ];
  });
  const headers = ['Layer (type)', 'Output Shape', 'Param #'];
  const widths = headers.map(
    (header, column) => Math.max(header.length, ...rows.map((row) => row[column].length)) + 2,
  );
  widths[0] = Math.max(widths[0], 33);
  widths[1] = Math.max(widths[1], 24);
  widths[2] = Math.max(widths[2], 15);
  const cell = (text: string, column: number): string =>
    column === 2 ? ` ${text.padStart(widths[column] - 2)} ` : ` ${text.padEnd(widths[column] - 2)} `;
  const rule = (left: string, fill: string, middle: string, right: string): string =>
    left + widths.map((width) => fill.repeat(width)).join(middle) + right;
  const lines = [`Model: "${model.name}"`, rule('┏', '━', '┳', '┓')];
  lines.push('┃' + headers.map(cell).join('┃') + '┃');
  lines.push(rule('┡', '━', '╇', '┩'));
  rows.forEach((row, index) => {
    lines.push('│' + row.map(cell).join('│') + '│');
    lines.push(index === rows.length - 1 ? rule('└', '─', '┴', '┘') : rule('├', '─', '┼', '┤'));
  });
  const count = (weights: { size: number }[]): number =>
    weights.reduce((total, weight) => total + weight.size, 0);
  const total = count(model.weights);
  const trainable = count(model.trainableWeights);
  lines.push(` Total params: ${formatCount(total)} (${formatBytes(total * 4)})`);
  lines.push(` Trainable params: ${formatCount(trainable)} (${formatBytes(trainable * 4)})`);
  lines.push(
    ` Non-trainable params: ${formatCount(total - trainable)} (${formatBytes((total - trainable) * 4)})`,
  );
  return lines.join('\n');
}
