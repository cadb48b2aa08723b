/**
 * Learning curves as chart points: pure functions, shared by the reports the CLI writes and the study page.
 * @module
 */

/**
 * `[[1, v₁], [2, v₂], …]`: a per-epoch curve as chart points, epochs 1-based from `firstEpoch`. A value that
 * is not a finite number (a diverged loss) is a gap (null), not a point.
 */
export function epochPoints(
  values: readonly (number | null)[] | undefined,
  firstEpoch = 1,
): Array<[number, number | null]> {
  return (values ?? []).map((value, index) => [
    firstEpoch + index,
    typeof value === 'number' && Number.isFinite(value) ? value : null,
  ]);
}

/** Per-epoch mean of several curves (curves that end early contribute to the epochs they have). */
export function meanCurve(curves: ReadonlyArray<readonly number[] | undefined>): number[] {
  const present = curves.filter((curve): curve is readonly number[] => curve !== undefined);
  const length = Math.max(0, ...present.map((curve) => curve.length));
  return Array.from({ length }, (_, epoch) => {
    const values = present.filter((curve) => epoch < curve.length).map((curve) => curve[epoch]);
    return values.reduce((a, b) => a + b, 0) / values.length;
  });
}
