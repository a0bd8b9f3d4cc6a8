// SPDX-License-Identifier: BSD-2-Clause
/*
 * recorder/kfeatures.c's table against the BPF objects: every program type, map type and helper
 * call in them is in the table, for the part the object belongs to, so that what tlsrec asks the
 * kernel about and what docs/kernels.md says each part needs cannot fall behind the programs.
 * With --probe (root): the kernel it runs on has all of it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "check.h"
#include "kfeatures.h"

static enum kpart part_of(const char *name)
{
	return !strcmp(name, "packets") ? KPART_PACKETS :
	       !strcmp(name, "secrets") ? KPART_SECRETS :
	       !strcmp(name, "owners")	? KPART_OWNERS :
					  0;
}

/* Each program's type and helper calls, and each map's type, in the table for part. */
static void check_object(enum kpart part, const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct bpf_map *map;

	if (!CHECK_MSG(obj != NULL, "%s: %s", path, strerror(errno)))
		return;
	bpf_object__for_each_program(prog, obj) {
		enum bpf_prog_type type = bpf_program__type(prog);
		const struct bpf_insn *in = bpf_program__insns(prog);
		size_t n = bpf_program__insn_cnt(prog);

		CHECK_MSG(kfeatures_find(part, KNEED_PROG, 0, type) != NULL,
			  "%s: program %s: type %d is not in the table", path,
			  bpf_program__name(prog), type);
		for (size_t i = 0; i < n; i++) {
			if (in[i].code != (BPF_JMP | BPF_CALL) || in[i].src_reg == BPF_PSEUDO_CALL)
				continue;
			CHECK_MSG(in[i].src_reg == 0, "%s: program %s calls a kfunc (%d)", path,
				  bpf_program__name(prog), in[i].imm);
			CHECK_MSG(in[i].src_reg != 0 ||
					  kfeatures_find(part, KNEED_HELPER, type, in[i].imm),
				  "%s: program %s (type %d) calls helper %d, not in the table", path,
				  bpf_program__name(prog), type, in[i].imm);
		}
	}
	bpf_object__for_each_map(map, obj)
		CHECK_MSG(kfeatures_find(part, KNEED_MAP, 0, (int)bpf_map__type(map)) != NULL,
			  "%s: map %s: type %d is not in the table", path, bpf_map__name(map),
			  bpf_map__type(map));
	bpf_object__close(obj);
}

/* The table: every helper's program type has an entry of its own. */
static void check_table(void)
{
	size_t n;
	const struct kneed *t = kfeatures_table(&n);

	for (size_t i = 0; i < n; i++) {
		CHECK(t[i].name && t[i].since);
		if (t[i].kind == KNEED_HELPER)
			CHECK_MSG(kfeatures_find(t[i].part, KNEED_PROG, 0, (int)t[i].prog) != NULL,
				  "%s: its program type %d has no entry", t[i].name, t[i].prog);
		CHECK_MSG(kfeatures_find(t[i].part, t[i].kind, t[i].prog, t[i].id) == &t[i],
			  "%s: in the table twice", t[i].name);
	}
}

/* This kernel has everything each part needs. */
static void check_kernel(void)
{
	for (enum kpart p = KPART_PACKETS; p <= KPART_OWNERS; p++) {
		char why[256] = "";

		CHECK_MSG(kfeatures_explain(p, why, sizeof(why)) == 0, "part %d: %s", p, why);
	}
}

/* test_kfeatures PART=OBJECT... | --probe */
int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--probe")) {
		CHECK_RUN(check_kernel);
		return check_exit();
	}
	CHECK_RUN(check_table);
	for (int i = 1; i < argc; i++) {
		char name[16];
		const char *eq = strchr(argv[i], '=');

		if (!CHECK_MSG(eq && (size_t)(eq - argv[i]) < sizeof(name), "bad argument %s",
			       argv[i]))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - argv[i]), argv[i]);
		if (CHECK_MSG(part_of(name) != 0, "no part %s", name))
			check_object(part_of(name), eq + 1);
	}
	return check_exit();
}
