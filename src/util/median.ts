/** The median of a non-empty list (the mean of the middle two for an even count): the benchmarks' and the tape inspector's summary of repeated timings. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
