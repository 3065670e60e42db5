/** "Did you mean": the known name closest to a mistyped one (commands, options, backend attributes). */

/** The edit distance of two strings (insertions, deletions and substitutions). */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * The candidate closest to `typed`, ignoring case, if one is close enough to be a likely
 * typo: a few letters off (at most a third of the name, at least 2), or the start of a
 * candidate (four letters or more). The same rule as the app's context keys (bin/app.ts).
 */
export function closest(typed: string, candidates: Iterable<string>): string | undefined {
  const t = typed.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const c = name.toLowerCase();
    const d = t.length >= 4 && c.startsWith(t) ? 0.5 : editDistance(t, c);
    if (best === undefined || d < best.d) {
      best = { name, d };
    }
  }
  return best !== undefined && best.d <= Math.max(2, Math.floor(typed.length / 3)) ? best.name : undefined;
}
