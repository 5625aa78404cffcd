// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: the wire protocol's pure logic (drivers/rmem/
 * rmem_proto.c, the module's, the donor's and librmem's one copy).
 *
 * The input is read as a request header, a reply header, and a page with
 * changes to it. What must hold:
 *   - a header that decodes encodes back to the same 32 (24) bytes, and
 *     the shape rules (rmem_req_check, rmem_reply_check) take any decoded
 *     header without reading past it;
 *   - every status and op has a name, and a fatal status maps to an errno;
 *   - rmem_line_diff() finds exactly the lines changed; its PATCH (gather,
 *     then apply with the new page's hash) turns the old page into the
 *     new; the same PATCH with another hash is a MISMATCH that leaves the
 *     frame as it was; and rmem_patch_check() takes exactly its length.
 * A failed check aborts, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rmem_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_proto: %s\n", what);
		abort();
	}
}

static void fuzz_headers(const uint8_t *data, size_t size)
{
	struct rmem_req_hdr rw, rw2;
	struct rmem_reply_hdr pw, pw2;
	struct rmem_req req;
	struct rmem_reply rep;
	uint32_t expect;

	memset(&rw, 0, sizeof(rw));
	memcpy(&rw, data, size < sizeof(rw) ? size : sizeof(rw));
	if (rmem_req_decode(&rw, &req) == RMEM_OK) {
		rmem_req_encode(&rw2, &req);
		check(!memcmp(&rw, &rw2, sizeof(rw)),
		      "a request header does not encode back to its bytes");
		rmem_req_check(&req);
	}
	memset(&pw, 0, sizeof(pw));
	if (size > sizeof(rw))
		memcpy(&pw, data + sizeof(rw), size - sizeof(rw) < sizeof(pw) ?
		       size - sizeof(rw) : sizeof(pw));
	if (rmem_reply_decode(&pw, &rep) == RMEM_OK) {
		rmem_reply_encode(&pw2, &rep);
		check(!memcmp(&pw, &pw2, sizeof(pw)),
		      "a reply header does not encode back to its bytes");
		memcpy(&expect, &rw.count, sizeof(expect));
		rmem_reply_check(&rep, (u16)req.op, expect);
		check(rmem_status_name(rep.status) != NULL &&
		      rmem_status_str(rep.status) != NULL &&
		      rmem_op_name(rep.op) != NULL, "a status or op has no name");
		if (rep.status != RMEM_OK && rmem_status_fatal(rep.status))
			check(rmem_status_errno(rep.status) > 0,
			      "a fatal status maps to no errno");
	}
}

static void fuzz_patch(const uint8_t *data, size_t size)
{
	static uint8_t old[RMEM_FRAME_SIZE], new[RMEM_FRAME_SIZE],
		frame[RMEM_FRAME_SIZE], lines[RMEM_FRAME_SIZE];
	struct rmem_patch patch;
	u64 mask, want = 0, hash;
	unsigned int n;
	size_t i;

	/* the old page: the input repeated; then each input byte pair
	 * (line, value) writes a byte of one line of the new page */
	for (i = 0; i < sizeof(old); i++)
		old[i] = size ? data[i % size] : 0;
	memcpy(new, old, sizeof(new));
	for (i = 0; i + 1 < size && i < 512; i += 2) {
		unsigned int line = data[i] % RMEM_LINES_PER_FRAME;
		uint8_t *b = &new[line * RMEM_LINE_SIZE + data[i + 1] % RMEM_LINE_SIZE];

		*b ^= data[i + 1] | 1;
	}
	for (i = 0; i < RMEM_LINES_PER_FRAME; i++)
		if (memcmp(old + i * RMEM_LINE_SIZE, new + i * RMEM_LINE_SIZE,
			   RMEM_LINE_SIZE))
			want |= 1ull << i;
	mask = rmem_line_diff(old, new);
	check(mask == want, "rmem_line_diff() missed or invented a line");
	n = rmem_patch_gather(new, mask, lines);
	check(n == rmem_patch_len(mask) - sizeof(patch),
	      "rmem_patch_gather() and rmem_patch_len() disagree");
	patch.mask = cpu_to_le64(mask);
	check(rmem_patch_check(&patch, rmem_patch_len(mask)) == RMEM_OK,
	      "rmem_patch_check() refused its own length");
	check(rmem_patch_check(&patch, rmem_patch_len(mask) + 1) != RMEM_OK,
	      "rmem_patch_check() took a wrong length");
	hash = rmem_page_hash(new);
	memcpy(frame, old, sizeof(frame));
	check(rmem_patch_apply(frame, mask, lines, hash ^ 1) ==
	      RMEM_E_MISMATCH && !memcmp(frame, old, sizeof(frame)),
	      "a PATCH with the wrong hash changed the frame");
	check(rmem_patch_apply(frame, mask, lines, hash) == RMEM_OK &&
	      !memcmp(frame, new, sizeof(frame)),
	      "a PATCH did not make the new page");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_headers(data, size);
	fuzz_patch(data, size);
	return 0;
}
