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
	struct index_selection sel;
	char *const *journals;
	unsigned n;
	const struct source *src;
};

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
		*out = x;
		return 0;
	}
fail:
	if (ret == -ENOMEM)
		log_err("selecting connections: %s", strerror(ENOMEM));
	extract_close(x);
	return ret;
}

/* source_select's keep: a chunk the selection names. A failed lookup reads the chunk. */
static bool keep(void *ctx, const struct src_chunk *c)
{
	struct extract *x = ctx;
	const struct recording *recs;

	source_recordings(x->src, &recs);
	return x->sel.nchunks && index_selected_chunk(x->ix, recs[c->rec].id, c->meta.seq);
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
	ret = source_select(*src, keep, x);
	if (ret)
		return ret;
	kept = source_nchunks(*src);
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
