// SPDX-License-Identifier: BSD-2-Clause
/* The records user space writes: HEADER, at the start of every file, and LIBRARY. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "procfs.h"
#include "userrec.h"

/* The HEADER record, in a buffer the caller frees. */
int build_header(int argc, char **argv, const struct opts *o, const struct lacks *l,
		 const __u8 rid[16], void **out, size_t *len)
{
	struct tr_header h = { .hdr = { .type = TR_REC_HEADER } };
	struct utsname u;
	char host[256] = "";
	size_t cap = sizeof(h) + 4 * 8 + sizeof(host) + sizeof(u), off = sizeof(h);
	__u64 unc;
	uint8_t *buf;
	int ret = 0;

	for (int i = 0; i < argc; i++)
		cap += 4 + strlen(argv[i]);
	if (o->filter)
		cap += 4 + strlen(o->filter);
	cap += (l->secrets ? 4 + strlen(l->secrets) : 0) + (l->owners ? 4 + strlen(l->owners) : 0);
	buf = calloc(1, cap);
	if (!buf)
		return -ENOMEM;
	memcpy(h.magic, TR_HEADER_MAGIC, sizeof(h.magic));
	h.major = TR_FORMAT_MAJOR;
	h.minor = TR_FORMAT_MINOR;
	h.clock_id = CLOCK_BOOTTIME;
	memcpy(h.recording_id, rid, 16);
	proc_boot_id(h.boot_id);
	clock_pair(&h.pair_boot_ns, &h.pair_real_ns, &unc);
	h.hdr.ts = h.pair_boot_ns;
	h.start_ns = h.pair_real_ns;
	h.snaplen = o->snaplen;
	gethostname(host, sizeof(host) - 1);
	uname(&u);
	ret |= tlv_put(buf, cap, &off, TR_TAG_HOSTNAME, host);
	ret |= tlv_put(buf, cap, &off, TR_TAG_KERNEL, u.release);
	ret |= tlv_put(buf, cap, &off, TR_TAG_MACHINE, u.machine);
	ret |= tlv_put(buf, cap, &off, TR_TAG_VERSION, TLSREC_VERSION);
	for (int i = 0; i < argc; i++)
		ret |= tlv_put(buf, cap, &off, TR_TAG_ARG, argv[i]);
	if (o->filter)
		ret |= tlv_put(buf, cap, &off, TR_TAG_FILTER, o->filter);
	if (l->secrets && l->secrets[0])
		ret |= tlv_put(buf, cap, &off, TR_TAG_NO_SECRETS, l->secrets);
	if (l->owners && l->owners[0])
		ret |= tlv_put(buf, cap, &off, TR_TAG_NO_OWNERS, l->owners);
	if (ret) {
		free(buf);
		return -ENOSPC;
	}
	h.hdr.len = (__u32)off;
	memcpy(buf, &h, sizeof(h));
	*out = buf;
	*len = off;
	return 0;
}

int build_library(const struct target *t, uint8_t *buf, size_t cap, size_t *len)
{
	struct tr_library l = { .hdr = { .type = TR_REC_LIBRARY } };
	size_t off = sizeof(l);
	struct timespec ts;
	int ret;

	if (cap < sizeof(l))
		return -ENOSPC;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	l.hdr.ts = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	l.dev = t->dev;
	l.ino = t->ino;
	l.index = t->index;
	l.kind = t->kind == TARGET_GO ? TR_LIB_GO :
		 t->cal.kind == CALIB_GNUTLS ? TR_LIB_GNUTLS : TR_LIB_OPENSSL;
	l.build_id_len = (__u8)t->build_id_len;
	memcpy(l.build_id, t->build_id, (size_t)t->build_id_len);
	ret = tlv_put(buf, cap, &off, TR_LIB_PATH, t->path);
	if (!ret)
		ret = tlv_put(buf, cap, &off, TR_LIB_VERSION,
			      t->kind == TARGET_GO ? t->go.version : t->cal.version);
	if (ret)
		return ret;
	l.hdr.len = (__u32)off;
	memcpy(buf, &l, sizeof(l));
	*len = off;
	return 0;
}
