/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Filtered extraction (tlsasm --pid N ...): the index (index.h) says which connections the filter
 * selects and which chunks hold their packets and the SECRET records of their client randoms; only
 * those chunks are read, and the connections found in them are matched to the selected ones by
 * recording, protocol, addresses, ports and first packet. Owners come from the index, as the
 * chunks read need not hold the SOCKET and PROCESS records.
 */
#ifndef TLSASM_EXTRACT_H
#define TLSASM_EXTRACT_H

#include "index.h"
#include "source.h"
#include "survey.h"

struct extract;

/*
 * Bring the index of journals (db, or beside the first) up to date and select with f. Without f
 * (a conversion of everything), only an index that exists is used, for the owners its other
 * journals know (a rotated file's sockets can be in the file before it): *out is NULL when there
 * is none, or when the file there is no usable index (after a warning). Returns 0, or -errno
 * after a message; *damage is what indexing found damaged.
 */
int extract_open(const struct index_filter *f, char *const *journals, unsigned n, const char *db,
		 struct extract **out, unsigned *damage);

/* The journals opened to read the selected chunks only (with a filter). 0 with *src, or -errno
 * after a message. */
int extract_source(struct extract *x, struct source **src);

/* What survey_run needs to take the selected connections only (valid while x is). */
struct survey_opts extract_survey_opts(struct extract *x);

/* Connections the index selected. */
size_t extract_selected(const struct extract *x);

void extract_close(struct extract *x);

#endif /* TLSASM_EXTRACT_H */
