/**
 * "Did you mean …": the candidates nearest a mistyped name (a class, a layer, a method), for one-line errors.
 */

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The `count` candidates closest to `query` (case-insensitive): substring matches first, then by edit distance. */
export function closest(query: string, candidates: readonly string[], count = 3): string[] {
  const q = query.toLowerCase();
  const scored = candidates.map((c) => {
    const n = c.toLowerCase();
    return { c, score: n.includes(q) || q.includes(n) ? Math.abs(n.length - q.length) / 100 : editDistance(q, n) };
  });
  scored.sort((a, b) => a.score - b.score);
  return [...new Set(scored.map((s) => s.c))].slice(0, count);
}
