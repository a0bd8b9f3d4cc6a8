// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mmapwatch.h"

#define DATA_PAGES 8 /* per CPU, a power of two: some 50 process starts between two reads */

struct ring {
	int fd;
	struct perf_event_mmap_page *meta; /* followed by the data pages */
};

struct mmapwatch {
	struct ring *rings;
	int n;
	int epfd;
	size_t page, data_size;
	uint8_t rec[65536]; /* one record (its size is 16 bits), put together */
};

/* struct perf_event_header, then these, then the file name (NUL-padded to 8 bytes), then the
 * sample_id of sample_id_all: here only the time (include/uapi/linux/perf_event.h,
 * PERF_RECORD_MMAP2). */
struct mmap2_fields {
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
};

int mmapwatch_fd(const struct mmapwatch *w)
{
	return w->epfd;
}

static int ring_open(struct mmapwatch *w, int cpu, struct ring *r)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_DUMMY,
		.mmap = 1,
		.mmap2 = 1,
		.watermark = 1,
		.wakeup_watermark = 1, /* wake the reader for every record */
		.exclude_kernel = 1,
		/* Each record ends with its time on CLOCK_MONOTONIC: how late a hook came. */
		.sample_id_all = 1,
		.sample_type = PERF_SAMPLE_TIME,
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
	};
	struct epoll_event ev = { .events = EPOLLIN };
	void *m;

	r->fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	m = mmap(NULL, w->page * (1 + DATA_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (m == MAP_FAILED) {
		int ret = -errno;

		close(r->fd);
		r->fd = -1;
		return ret;
	}
	r->meta = m;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, r->fd, &ev))
		return -errno;
	return 0;
}

int mmapwatch_open(struct mmapwatch **out)
{
	struct mmapwatch *w = calloc(1, sizeof(*w));
	int ret = 0, opened = 0;

	if (!w)
		return -ENOMEM;
	w->page = (size_t)sysconf(_SC_PAGESIZE);
	w->data_size = w->page * DATA_PAGES;
	w->n = libbpf_num_possible_cpus();
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->n <= 0 || w->epfd < 0) {
		ret = w->n <= 0 ? w->n : -errno;
		goto fail;
	}
	w->rings = calloc((size_t)w->n, sizeof(*w->rings));
	if (!w->rings) {
		ret = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < w->n; i++)
		w->rings[i].fd = -1;
	for (int i = 0; i < w->n; i++) {
		ret = ring_open(w, i, &w->rings[i]);
		if (ret == -ENODEV) /* a CPU that is possible but offline */
			continue;
		if (ret)
			goto fail;
		opened++;
	}
	if (!opened) {
		ret = -ENODEV;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	mmapwatch_close(w);
	return ret;
}

static int ring_read(struct mmapwatch *w, struct ring *r, mmapwatch_fn fn, void *ctx)
{
	const uint8_t *data = (const uint8_t *)r->meta + w->page;
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	int ret = 0;

	while (!ret && tail < head) {
		struct perf_event_header h;
		size_t at = tail & (w->data_size - 1), first;

		memcpy(&h, data + at, sizeof(h)); /* headers are 8-byte aligned: never split */
		if (h.size < sizeof(h) || h.size > head - tail)
			break; /* cannot be: stop reading this ring rather than misread it */
		first = w->data_size - at < h.size ? w->data_size - at : h.size;
		memcpy(w->rec, data + at, first);
		memcpy(w->rec + first, data, h.size - first);
		tail += h.size;
		if (h.type == PERF_RECORD_LOST) {
			ret = fn(ctx, 0, NULL, 0);
		} else if (h.type == PERF_RECORD_MMAP2 &&
			   h.size > sizeof(h) + sizeof(struct mmap2_fields) + sizeof(uint64_t)) {
			struct mmap2_fields f;
			char *file = (char *)w->rec + sizeof(h) + sizeof(f);
			uint64_t ns;

			memcpy(&f, w->rec + sizeof(h), sizeof(f));
			memcpy(&ns, w->rec + h.size - sizeof(ns), sizeof(ns)); /* the sample_id */
			w->rec[h.size - sizeof(ns) - 1] = '\0';
			ret = fn(ctx, (pid_t)f.pid, file, ns);
		}
	}
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	return ret;
}

int mmapwatch_read(struct mmapwatch *w, mmapwatch_fn fn, void *ctx)
{
	int ret = 0;

	for (int i = 0; !ret && i < w->n; i++)
		if (w->rings[i].fd >= 0)
			ret = ring_read(w, &w->rings[i], fn, ctx);
	return ret;
}

void mmapwatch_close(struct mmapwatch *w)
{
	if (!w)
		return;
	for (int i = 0; w->rings && i < w->n; i++) {
		if (w->rings[i].meta)
			munmap(w->rings[i].meta, w->page * (1 + DATA_PAGES));
		if (w->rings[i].fd >= 0)
			close(w->rings[i].fd);
	}
	free(w->rings);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}
