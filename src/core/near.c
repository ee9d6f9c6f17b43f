/* near: "did you mean", see near.h. */
#include <string.h>

#include "near.h"

size_t
near_distance(const char *a, const char *b)
{
	/* three rows of the dynamic programme: i - 2, i - 1 and i */
	size_t rows[3][NEAR_MAX + 1];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > NEAR_MAX || lb > NEAR_MAX)
		return NEAR_MAX + 1;
	for (j = 0; j <= lb; j++)
		rows[0][j] = j;
	for (i = 1; i <= la; i++) {
		size_t *d = rows[i % 3], *p = rows[(i + 2) % 3];
		size_t *pp = rows[(i + 1) % 3];

		d[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = p[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = p[j] + 1, ins = d[j - 1] + 1;
			size_t v = sub < del ? sub : del;

			v = v < ins ? v : ins;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			d[j] = v;
		}
	}
	return rows[la % 3][lb];
}

const char *
near_best(const char *word, const char *const *cands, size_t n)
{
	size_t len = strlen(word), limit, best = NEAR_MAX + 1, i;
	const char *pick = NULL;
	int tie = 0;

	limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	for (i = 0; i < n; i++) {
		size_t d;

		if (cands[i] == NULL || strcmp(cands[i], word) == 0)
			continue;
		d = near_distance(word, cands[i]);
		if (d < best) {
			best = d;
			pick = cands[i];
			tie = 0;
		} else if (d == best)
			tie = 1;
	}
	return best <= limit && !tie ? pick : NULL;
}
