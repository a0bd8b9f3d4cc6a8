// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "array.h"
#include "catalog.h"

struct rec_key {
	const struct catalog *c;
	const uint8_t *id;
};

struct iface_key {
	const struct catalog *c;
	unsigned rec;
	uint32_t ifindex;
};

static uint64_t id_hash(const uint8_t id[16])
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return table_hash(a ^ table_hash(b));
}

static bool rec_match(const void *ctx, uint32_t index)
{
	const struct rec_key *k = ctx;

	return !memcmp(k->c->recs[index].id, k->id, 16);
}

static uint64_t rec_rehash(const void *ctx, uint32_t index)
{
	const struct catalog *c = ctx;

	return id_hash(c->recs[index].id);
}

int catalog_recording(struct catalog *c, const uint8_t id[16])
{
	struct rec_key key = { c, id };
	uint64_t h = id_hash(id);
	int64_t found = table_find(&c->rec_index, h, rec_match, &key);

	if (found >= 0)
		return (int)found;
	if (c->nrecs >= CATALOG_MAX_RECORDINGS) {
		c->recs_dropped++;
		return -ENOSPC;
	}
	if (array_reserve(&c->recs, &c->recs_cap, c->nrecs + 1, sizeof(*c->recs), 4) ||
	    table_add(&c->rec_index, h, (uint32_t)c->nrecs, rec_rehash, c))
		return -ENOMEM;
	memset(&c->recs[c->nrecs], 0, sizeof(c->recs[0]));
	memcpy(c->recs[c->nrecs].id, id, 16);
	c->recs[c->nrecs].snaplen = TR_MAX_SNAPLEN;
	return (int)c->nrecs++;
}

static uint64_t iface_hash(unsigned rec, uint32_t ifindex)
{
	return table_hash((uint64_t)rec << 32 | ifindex);
}

static bool iface_match(const void *ctx, uint32_t index)
{
	const struct iface_key *k = ctx;

	return k->c->ifaces[index].rec == k->rec && k->c->ifaces[index].desc.ifindex == k->ifindex;
}

static uint64_t iface_rehash(const void *ctx, uint32_t index)
{
	const struct catalog *c = ctx;

	return iface_hash(c->ifaces[index].rec, c->ifaces[index].desc.ifindex);
}

int catalog_find_iface(const struct catalog *c, unsigned rec, uint32_t ifindex)
{
	struct iface_key k = { c, rec, ifindex };

	return (int)table_find(&c->iface_index, iface_hash(rec, ifindex), iface_match, &k);
}

int catalog_add_iface(struct catalog *c, unsigned rec, const struct tr_iface *d)
{
	struct src_iface *it;

	if (catalog_find_iface(c, rec, d->ifindex) >= 0)
		return 0;
	if (c->nifaces >= CATALOG_MAX_IFACES) {
		c->ifaces_dropped++;
		return 0;
	}
	if (array_reserve(&c->ifaces, &c->ifaces_cap, c->nifaces + 1, sizeof(*c->ifaces), 8) ||
	    table_add(&c->iface_index, iface_hash(rec, d->ifindex), (uint32_t)c->nifaces,
		      iface_rehash, c))
		return -ENOMEM;
	it = &c->ifaces[c->nifaces++];
	memset(it, 0, sizeof(*it));
	it->rec = rec;
	it->desc = *d;
	it->desc.name[TR_IFNAMSIZ - 1] = '\0';
	return 0;
}

/* Losses arrive in the order chunks are loaded, which is not quite time order when chunks
 * overlap: a heap keeps the earliest on top at a logarithmic cost, however hostile the input. */
int catalog_add_loss(struct catalog *c, unsigned i, uint64_t wall, uint64_t count)
{
	struct src_iface *it = &c->ifaces[i];
	size_t k;

	it->lost += count;
	if (c->n_marks >= CATALOG_MAX_LOSS_MARKS) {
		it->carried += count;
		return 0;
	}
	if (array_reserve(&it->marks, &it->marks_cap, it->n_marks + 1, sizeof(*it->marks), 8))
		return -ENOMEM;
	for (k = it->n_marks++; k && it->marks[(k - 1) / 2].wall > wall; k = (k - 1) / 2)
		it->marks[k] = it->marks[(k - 1) / 2];
	it->marks[k] = (struct loss_mark){ .wall = wall, .count = count };
	c->n_marks++;
	return 0;
}

uint64_t catalog_take_drops(struct catalog *c, unsigned i, uint64_t wall)
{
	struct src_iface *it = &c->ifaces[i];
	uint64_t n = 0;

	if (!it->n_marks || it->marks[0].wall <= wall) {
		n = it->carried;
		it->carried = 0;
	}
	while (it->n_marks && it->marks[0].wall <= wall) {
		struct loss_mark last = it->marks[--it->n_marks];
		size_t k = 0;

		c->n_marks--;
		n += it->marks[0].count;
		for (;;) {
			size_t child = 2 * k + 1;

			if (child >= it->n_marks)
				break;
			if (child + 1 < it->n_marks && it->marks[child + 1].wall < it->marks[child].wall)
				child++;
			if (it->marks[child].wall >= last.wall)
				break;
			it->marks[k] = it->marks[child];
			k = child;
		}
		if (it->n_marks)
			it->marks[k] = last;
	}
	return n;
}

int catalog_add_socket(struct catalog *c, unsigned rec, uint64_t wall, const struct tr_socket *s)
{
	if (c->nsockets >= CATALOG_MAX_SOCKETS) {
		c->sockets_dropped++;
		return 0;
	}
	if (array_reserve(&c->sockets, &c->sockets_cap, c->nsockets + 1, sizeof(*c->sockets), 64))
		return -ENOMEM;
	c->sockets[c->nsockets++] = (struct src_socket){ .rec = rec, .wall = wall, .s = *s };
	return 0;
}

int catalog_add_process(struct catalog *c, struct src_process *p)
{
	size_t bytes = (p->exe ? strlen(p->exe) + 1 : 0) + (p->cmdline ? p->cmdline_len + 1 : 0);
	int ret = 0;

	if (c->nprocs >= CATALOG_MAX_PROCESSES) {
		c->procs_dropped++;
		goto drop;
	}
	if (array_reserve(&c->procs, &c->procs_cap, c->nprocs + 1, sizeof(*c->procs), 64)) {
		ret = -ENOMEM;
		goto drop;
	}
	if (bytes > CATALOG_MAX_STRING_BYTES - c->string_bytes) {
		c->strings_dropped++;
		free(p->exe);
		free(p->cmdline);
		p->exe = p->cmdline = NULL;
		p->cmdline_len = 0;
		bytes = 0;
	}
	c->string_bytes += bytes;
	c->procs[c->nprocs++] = *p;
	return 0;
drop:
	free(p->exe);
	free(p->cmdline);
	return ret;
}

struct lib_key {
	const struct catalog *c;
	unsigned rec;
	uint32_t lib;
};

static uint64_t lib_hash(unsigned rec, uint32_t lib)
{
	return table_hash((uint64_t)rec << 32 | lib);
}

static bool lib_match(const void *ctx, uint32_t index)
{
	const struct lib_key *k = ctx;

	return k->c->libs[index].rec == k->rec && k->c->libs[index].index == k->lib;
}

static uint64_t lib_rehash(const void *ctx, uint32_t index)
{
	const struct catalog *c = ctx;

	return lib_hash(c->libs[index].rec, c->libs[index].index);
}

int catalog_find_library(const struct catalog *c, unsigned rec, uint32_t lib)
{
	struct lib_key k = { c, rec, lib };

	return (int)table_find(&c->lib_index, lib_hash(rec, lib), lib_match, &k);
}

int catalog_add_library(struct catalog *c, const struct src_library *l)
{
	if (catalog_find_library(c, l->rec, l->index) >= 0)
		return 0;
	if (c->nlibs >= CATALOG_MAX_LIBRARIES) {
		c->libs_dropped++;
		return 0;
	}
	if (array_reserve(&c->libs, &c->libs_cap, c->nlibs + 1, sizeof(*c->libs), 4) ||
	    table_add(&c->lib_index, lib_hash(l->rec, l->index), (uint32_t)c->nlibs, lib_rehash, c))
		return -ENOMEM;
	c->libs[c->nlibs++] = *l;
	return 0;
}

void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->nifaces; i++)
		free(c->ifaces[i].marks);
	for (size_t i = 0; i < c->nprocs; i++) {
		free(c->procs[i].exe);
		free(c->procs[i].cmdline);
	}
	for (size_t i = 0; i < c->nrecs; i++)
		free(c->recs[i].filter);
	free(c->sockets);
	free(c->procs);
	free(c->recs);
	free(c->ifaces);
	free(c->libs);
	table_free(&c->rec_index);
	table_free(&c->iface_index);
	table_free(&c->lib_index);
	memset(c, 0, sizeof(*c));
}

char *recording_lacks(const struct recording *r, char *buf, size_t len)
{
	int n = 0;

	buf[0] = '\0';
	if (r->no_secrets[0])
		n = snprintf(buf, len,
			     "no TLS secrets: its TLS traffic cannot be decrypted (tlsrec could not record them: %s)",
			     r->no_secrets);
	if (r->no_owners[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
			 "%sno socket owners: its packets name no process, and --pid, --comm and tlsasm procs find none (tlsrec could not record which process owns each socket: %s)",
			 n ? "; " : "", r->no_owners);
	return buf;
}
