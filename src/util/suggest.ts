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

/** Whether the letters of `short` appear in `long` in order ("intgrad" in "integrated-gradients"): an abbreviation. */
function abbreviates(short: string, long: string): boolean {
  let i = 0;
  for (const ch of long) if (ch === short[i]) i++;
  return i === short.length;
}

/**
 * The `count` candidates closest to `query` (case-insensitive): substring matches first, then abbreviations of
 * three letters or more, then by edit distance.
 */
export function closest(query: string, candidates: readonly string[], count = 3): string[] {
  const q = query.toLowerCase();
  const scored = candidates.map((c) => {
    const n = c.toLowerCase();
    if (n.includes(q) || q.includes(n)) return { c, score: Math.abs(n.length - q.length) / 100 };
    if (q.length >= 3 && abbreviates(q, n)) return { c, score: 0.5 + Math.abs(n.length - q.length) / 1000 };
    return { c, score: editDistance(q, n) };
  });
  scored.sort((a, b) => a.score - b.score);
  return [...new Set(scored.map((s) => s.c))].slice(0, count);
}
