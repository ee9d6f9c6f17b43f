/*
 * near: the nearest of a set of names to a mistyped one, for "did you
 * mean" in messages (commands, options, policies, fields).
 *
 * The distance is the optimal string alignment distance (Levenshtein's
 * insertions, deletions and substitutions, plus a swap of two adjacent
 * characters, each costing 1), over bytes, case-sensitive.  A name is
 * suggested only when it is close enough to be a typing slip: at most
 * one edit for a word of up to 4 bytes, two up to 8, three beyond; and
 * never when two candidates tie at the best distance, since a guess
 * between two would mislead as often as help.
 */
#ifndef SKRULL_NEAR_H
#define SKRULL_NEAR_H

#include <stddef.h>

/* Longest word or candidate compared, in bytes; longer ones never match. */
#define NEAR_MAX 64

/* The distance between a and b, or NEAR_MAX + 1 when either is longer
 * than NEAR_MAX bytes. */
size_t near_distance(const char *a, const char *b);

/* The candidate nearest to word under the rule above, or NULL; NULL
 * entries of cands are skipped, and a candidate equal to word is not a
 * suggestion (it is no slip). */
const char *near_best(const char *word, const char *const *cands, size_t n);

#endif
