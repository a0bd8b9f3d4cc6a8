// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extract.h"
#include "log.h"

struct extract {
	struct index *ix;
	bool select; /* a filter was given: sel is what it selects */
	struct index_selection sel; /* its chunks sorted by recording and sequence number */
	char *const *journals;
	unsigned n;
	const struct source *src;
};

/* By what a chunk is, not where: a copy of a journal holds the same chunks. */
static int cmp_chunk(const void *a, const void *b)
{
	const struct index_chunk *x = a, *y = b;
	int c = memcmp(x->recording_id, y->recording_id, 16);

	if (c)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sort the selection's chunks by what they are, each once (a chunk of two journal rows, a file
 * and its copy, once). */
static void sort_chunks(struct index_selection *sel)
{
	size_t k = 0;

	if (!sel->nchunks)
		return;
	qsort(sel->chunks, sel->nchunks, sizeof(*sel->chunks), cmp_chunk);
	for (size_t i = 0; i < sel->nchunks; i++)
		if (!k || cmp_chunk(&sel->chunks[i], &sel->chunks[k - 1]))
			sel->chunks[k++] = sel->chunks[i];
	sel->nchunks = k;
}

int extract_open(const struct index_filter *f, char *const *journals, unsigned n, const char *db,
		 struct extract **out, unsigned *damage)
{
	struct extract *x = NULL;
	char path[PATH_MAX];
	int ret;

	*out = NULL;
	*damage = 0;
	if (!f) {
		ret = index_path(journals[0], db, path, sizeof(path));
		if (ret || access(path, F_OK))
			return ret;
	}
	ret = -ENOMEM;
	x = calloc(1, sizeof(*x));
	if (!x)
		goto fail;
	x->select = f != NULL;
	x->journals = journals;
	x->n = n;
	/* Without filters the index only helps: the conversion goes on without one it cannot use. */
	ret = index_prepare(journals, n, db, f ? INDEX_CREATE : INDEX_OPTIONAL, &x->ix, damage);
	if (!ret && !x->ix) {
		extract_close(x);
		return 0;
	}
	if (!ret && f)
		ret = index_select(x->ix, f, &x->sel);
	if (!ret) {
		sort_chunks(&x->sel);
		*out = x;
		return 0;
	}
fail:
	if (ret == -ENOMEM)
		log_err("selecting connections: %s", strerror(ENOMEM));
	extract_close(x);
	return ret;
}

/* source_select's keep: a chunk the selection names. */
static bool keep(void *ctx, const struct src_chunk *c)
{
	struct extract *x = ctx;
	const struct recording *recs;
	struct index_chunk k = { .seq = c->meta->seq };

	source_recordings(x->src, &recs);
	memcpy(k.recording_id, recs[c->rec].id, 16);
	return x->sel.nchunks &&
	       bsearch(&k, x->sel.chunks, x->sel.nchunks, sizeof(k), cmp_chunk) != NULL;
}

int extract_source(struct extract *x, struct source **src)
{
	int ret = source_open(x->journals, x->n, src);
	size_t kept;

	if (ret)
		return ret;
	x->src = *src;
	if (!x->select)
		return 0;
	/* source_open dropped copies of a chunk: what is left is each chunk once. */
	kept = source_select(*src, keep, x);
	if (kept < x->sel.nchunks)
		log_warn("%zu chunks of the selected connections are not in the journals given (a file left out, or replaced by rotation): their packets are missing",
			 x->sel.nchunks - kept);
	return 0;
}

/* survey_opts.add: the owners' records, from the index. */
static int add(void *ctx, const struct source *src, struct owners *o)
{
	struct extract *x = ctx;

	return index_load_owners(x->ix, src, o);
}

/* survey_opts.want: c is one of the selected connections. */
static bool want(void *ctx, const struct tls_conn *c)
{
	struct extract *x = ctx;
	const struct recording *recs;

	source_recordings(x->src, &recs);
	return index_selected(x->ix, recs[c->rec].id, c->proto, c->family, c->addr, c->port,
			      c->first_wall, NULL, NULL) == 1;
}

/* survey_opts.resumes: the index tied c to the session it resumes. */
static bool resumes(void *ctx, const struct tls_conn *c, uint8_t root[32])
{
	struct extract *x = ctx;
	const struct recording *recs;
	bool got = false;

	source_recordings(x->src, &recs);
	return index_selected(x->ix, recs[c->rec].id, c->proto, c->family, c->addr, c->port,
			      c->first_wall, &got, root) == 1 &&
	       got;
}

struct survey_opts extract_survey_opts(struct extract *x)
{
	return (struct survey_opts){ .add = add,
				     .want = x->select ? want : NULL,
				     .resumes = x->select ? resumes : NULL,
				     .ctx = x };
}

size_t extract_selected(const struct extract *x)
{
	return x->sel.nconns;
}

void extract_close(struct extract *x)
{
	if (!x)
		return;
	index_selection_free(&x->sel);
	index_close(x->ix);
	free(x);
}
