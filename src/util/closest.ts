// "Did you mean …?": the candidate closest to what the user typed, by edit distance.

/** Levenshtein distance (insertions, deletions, substitutions each cost 1), O(a·b) time, O(b) memory. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `typed`, or undefined when none is within `maxDistance` (default: a third of the
 * typed length, at least 2), so a wild guess is not offered. Ties go to the first candidate.
 */
export function closestMatch(typed: string, candidates: readonly string[], maxDistance = Math.max(2, Math.floor(typed.length / 3))): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= maxDistance ? best : undefined;
}
