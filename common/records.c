// SPDX-License-Identifier: BSD-2-Clause
/* Reading records out of a decompressed chunk (docs/journal-format.md, "Records"). */
#include <errno.h>
#include <string.h>

#include "journal.h"

int rec_next(struct rec_iter *it, struct tr_rec *hdr, const uint8_t **rec)
{
	size_t left = (size_t)(it->end - it->p);

	if (!left)
		return 0;
	if (left < sizeof(*hdr))
		return -EBADMSG;
	memcpy(hdr, it->p, sizeof(*hdr));
	if (hdr->type == 0 || hdr->len < sizeof(*hdr) || hdr->len > left)
		return -EBADMSG;
	*rec = it->p;
	it->p += hdr->len;
	return 1;
}

int rec_fixed(const uint8_t *rec, const struct tr_rec *hdr, void *out, size_t size)
{
	if (hdr->len < size)
		return -EBADMSG;
	memcpy(out, rec, size);
	if (hdr->type == TR_REC_PACKET) {
		const struct tr_packet *p = out;

		if (size != sizeof(*p) || p->cap_len != hdr->len - sizeof(*p) ||
		    p->cap_len > p->orig_len || p->cap_len > TR_MAX_SNAPLEN)
			return -EBADMSG;
	}
	return 0;
}

int tlv_next(struct tlv_iter *it, uint16_t *tag, const char **val, uint16_t *len)
{
	size_t left = (size_t)(it->end - it->p);

	if (!left)
		return 0;
	if (left < 4)
		return -EBADMSG;
	memcpy(tag, it->p, 2);
	memcpy(len, it->p + 2, 2);
	if (*len > left - 4)
		return -EBADMSG;
	*val = (const char *)it->p + 4;
	it->p += 4 + *len;
	return 1;
}
