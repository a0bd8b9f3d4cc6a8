// SPDX-License-Identifier: BSD-2-Clause
/* Writing journal files: one write per chunk, head chunk first in every file, tcpdump-style rotation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fileio.h"
#include "journal.h"
#include "log.h"

struct journal_writer {
	const struct jw_config *cfg;
	int fd;
	bool regular;    /* fdatasync applies */
	unsigned fileno; /* number of the current file in the rotation */
	uint64_t size;   /* bytes in the current file: its whole chunks */
	uint64_t reserved; /* bytes allocated to the file (fallocate), a multiple of JW_ALIGN */
	bool reserving;  /* the file system allocates ahead (fallocate works) */
	int failed;      /* the first write that failed (-errno): only jw_write_last writes more */
	bool torn;       /* a failed write left part of a chunk behind: nothing more is written */
	bool written;    /* the chunk of the last jw_write is in the journal */
	uint64_t seq;    /* next chunk's sequence number */
	char path[4096];
	struct chunk_encoder enc; /* for head chunks */
	struct chunkbuf head;
};

void jw_filename(char *out, size_t size, const char *base, unsigned n, unsigned rotate_files)
{
	unsigned width = 0;

	if (!rotate_files) {
		if (n == 0)
			snprintf(out, size, "%s", base);
		else
			snprintf(out, size, "%s%u", base, n);
		return;
	}
	for (unsigned v = rotate_files - 1; v; v /= 10)
		width++;
	snprintf(out, size, "%s%0*u", base, width ? (int)width : 1, n);
}

static int write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt) {
		ssize_t n = writev(fd, iov, cnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Room kept allocated after the last chunk of a file, for the chunk that ends the recording when
 * the file system fills up (its CLOCK, IFACE, LOSS and END records: a few KiB at most), in whole
 * blocks of JW_ALIGN: a failed fallocate frees what it allocated itself, in whole pages, and must
 * not take the room kept before it with it.
 */
#define JW_RESERVE (64u << 10)
#define JW_ALIGN (64u << 10)

/* Make sure the file has blocks for len more bytes and the room after them. 0 or -errno
 * (-ENOSPC: the file system is full). */
static int reserve(struct journal_writer *w, uint64_t len)
{
	uint64_t end = (w->size + len + JW_RESERVE + JW_ALIGN - 1) / JW_ALIGN * JW_ALIGN;

	if (!w->reserving || end <= w->reserved)
		return 0;
	if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->reserved, (off_t)(end - w->reserved))) {
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		w->reserving = false;
		return 0;
	}
	w->reserved = end;
	return 0;
}

/*
 * Cut off what was written of a chunk that failed, if anything was: the file ends with its last
 * whole chunk again. The cut frees the blocks reserved past the end too; they are reserved again
 * at once, and w->reserved says what is held (0 when they could not be had). 0 or -errno.
 */
static int cut_back(struct journal_writer *w)
{
	uint64_t room = w->reserved;
	struct stat st;

	if (fstat(w->fd, &st))
		return -errno;
	if ((uint64_t)st.st_size <= w->size)
		return 0;
	if (ftruncate(w->fd, (off_t)w->size) || lseek(w->fd, (off_t)w->size, SEEK_SET) < 0)
		return -errno;
	w->reserved = 0;
	if (room > w->size &&
	    !fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->size, (off_t)(room - w->size)))
		w->reserved = room;
	return 0;
}

/* Write one chunk; with room, reserve its blocks and the room after it first. A chunk that is
 * not written whole is cut off again: the file ends with its last whole chunk. 0 or -errno. */
static int write_chunk(struct journal_writer *w, const struct chunkbuf *cb, uint16_t flags,
		       bool room)
{
	struct jr_chunk_meta m = { .flags = flags, .records = cb->records, .seq = w->seq };
	uint8_t hdr[JR_CHUNK_HDR_SIZE];
	struct iovec iov[2];
	int ret;

	memcpy(m.recording_id, w->cfg->recording_id, 16);
	m.first_ns = cb->ts_min + cb->wall_offset;
	m.last_ns = cb->ts_max + cb->wall_offset;
	m.raw_len = (uint32_t)cb->len;
	m.frame_len = (uint32_t)cb->frame_len;
	chunk_header_encode(hdr, &m);

	iov[0] = (struct iovec){ .iov_base = hdr, .iov_len = sizeof(hdr) };
	iov[1] = (struct iovec){ .iov_base = cb->frame, .iov_len = cb->frame_len };
	ret = room ? reserve(w, sizeof(hdr) + cb->frame_len) : 0;
	if (!ret)
		ret = write_all(w->fd, iov, 2);
	if (ret) {
		w->torn = !w->regular || cut_back(w);
		return ret;
	}
	w->size += sizeof(hdr) + cb->frame_len;
	w->seq++;
	return 0;
}

static int open_file(struct journal_writer *w)
{
	const char *what;
	struct stat st;
	int ret;

	if (!strcmp(w->cfg->path, "-")) {
		w->fd = STDOUT_FILENO;
		snprintf(w->path, sizeof(w->path), "standard output");
	} else {
		jw_filename(w->path, sizeof(w->path), w->cfg->path, w->fileno, w->cfg->rotate_files);
		w->fd = open_private(w->path, &what);
		if (w->fd < 0)
			return w->fd;
		if (what)
			log_warn("%s: %s was there: replaced by the journal, not written into",
				 w->path, what);
		ret = sync_parent_dir(w->path);
		if (ret)
			return ret;
	}
	w->regular = !fstat(w->fd, &st) && S_ISREG(st.st_mode);
	w->reserving = w->regular;
	w->size = 0;
	w->reserved = 0;

	chunkbuf_begin(&w->head, &w->enc);
	ret = chunkbuf_add(&w->head, w->cfg->header, w->cfg->header_len);
	if (!ret)
		ret = chunkbuf_add_clock(&w->head);
	for (size_t i = 0; !ret && i < w->cfg->n_ifaces; i++)
		ret = chunkbuf_add(&w->head, &w->cfg->ifaces[i], sizeof(w->cfg->ifaces[i]));
	if (!ret)
		ret = chunkbuf_end(&w->head);
	if (ret)
		return ret;
	return write_chunk(w, &w->head, JR_CHUNK_HEAD, true);
}

static int close_file(struct journal_writer *w)
{
	int ret = 0;

	if (w->fd < 0)
		return 0;
	/* Give back the room kept after the last chunk (best effort: it is only space). */
	if (w->reserved > w->size)
		fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)w->size,
			  (off_t)(w->reserved - w->size));
	if (w->regular && fdatasync(w->fd))
		ret = -errno;
	if (w->fd != STDOUT_FILENO && close(w->fd) && !ret)
		ret = -errno;
	w->fd = -1;
	return ret;
}

/*
 * Start the next file of the rotation. The current file stays open until the next one holds its
 * head chunk: when it cannot be created or take its head chunk (a full disk), it is removed, and
 * the current file, with the room kept after its last chunk, is still the one written. 0 or -errno.
 */
static int rotate(struct journal_writer *w)
{
	struct journal_writer prev = *w;
	int ret;

	w->fileno++;
	if (w->cfg->rotate_files && w->fileno == w->cfg->rotate_files)
		w->fileno = 0;
	ret = open_file(w);
	if (ret) {
		log_err("%s: %s: cannot start the next file of the rotation; %s ends the journal",
			w->path, strerror(-ret), prev.path);
		if (w->fd >= 0 && w->fd != STDOUT_FILENO) {
			close(w->fd);
			unlink(w->path);
		}
		*w = prev;
		return ret;
	}
	return close_file(&prev);
}

int jw_open(const struct jw_config *cfg, struct journal_writer **out)
{
	struct journal_writer *w;
	size_t head_cap = cfg->header_len + sizeof(struct tr_clock) +
			  cfg->n_ifaces * sizeof(struct tr_iface);
	int ret;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cfg = cfg;
	w->fd = -1;
	ret = chunk_encoder_init(&w->enc);
	if (!ret)
		ret = chunkbuf_init(&w->head, head_cap);
	if (!ret)
		ret = open_file(w);
	if (ret) {
		jw_close(w);
		return ret;
	}
	*out = w;
	return 0;
}

int jw_write(struct journal_writer *w, const struct chunkbuf *cb)
{
	int ret;

	w->written = false;
	if (w->failed)
		return w->failed;
	if (cb->len > JR_MAX_RAW)
		return -EMSGSIZE;
	ret = write_chunk(w, cb, 0, true);
	w->written = !ret;
	if (!ret && w->cfg->rotate_bytes && w->size >= w->cfg->rotate_bytes)
		ret = rotate(w);
	if (ret)
		w->failed = ret;
	return ret;
}

bool jw_written(const struct journal_writer *w)
{
	return w->written;
}

int jw_write_last(struct journal_writer *w, const struct chunkbuf *cb)
{
	if (w->torn)
		return w->failed;
	if (cb->len > JR_MAX_RAW)
		return -EMSGSIZE;
	return write_chunk(w, cb, 0, false);
}

int jw_sync(struct journal_writer *w)
{
	if (w->fd >= 0 && w->regular && fdatasync(w->fd))
		return -errno;
	return 0;
}

int jw_close(struct journal_writer *w)
{
	int ret;

	if (!w)
		return 0;
	ret = close_file(w);
	chunk_encoder_free(&w->enc);
	chunkbuf_free(&w->head);
	free(w);
	return ret;
}

const char *jw_path(const struct journal_writer *w)
{
	return w->path;
}
