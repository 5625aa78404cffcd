// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: the two configuration parsers operators write for,
 * rmem-poold.conf (userspace/poold/config.c) and rmemtab(5)
 * (userspace/rmemctl/tab.c), fed the input as a file.
 *
 * What must hold: each either accepts the file or refuses it with a
 * message that starts with the file's name (then the line, or the key); a configuration accepted is within every key's range (the checks
 * below), parsing it again gives the same result, and against itself it
 * needs no restart. rmemtab: no entry is half filled, none has an empty
 * name or donor, and no name appears twice.
 * A failed check aborts, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
/* rmemtab's parser is rmemctl's (tab.c, with device.c's attach options,
 * which need the rest of rmemctl): its main() is not this program's */
#define main rmemctl_main
#include "rmemctl.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(stderr, "fuzz_config: %s%s%s\n", what,
			detail ? ": " : "", detail ? detail : "");
		abort();
	}
}

static void fuzz_poold(const char *text)
{
	struct poold_config a, b;
	char err[1024], keys[512];
	int ret;

	poold_config_defaults(&a);
	err[0] = '\0';
	ret = poold_config_parse_string("fuzz.conf", text, &a, err, sizeof(err));
	if (ret) {
		check(err[0] != '\0', "a configuration refused without a reason",
		      NULL);
		check(!strncmp(err, "fuzz.conf", 9),
		      "a refusal does not name the file", err);
		return;
	}
	check(a.max_clients >= 1 && a.handshake_timeout >= 1 &&
	      a.pool_size >= 4096 && a.source_startups >= 1 &&
	      a.startups.begin >= 1 && a.startups.begin <= a.startups.full &&
	      a.startups.rate <= 100 && a.port <= 65535 &&
	      a.threads <= POOLD_MAX_THREADS &&
	      (a.key_file[0] || a.nclients) && a.quota >= RMEM_FRAME_SIZE &&
	      a.quota <= a.pool_size && a.nclients <= POOLD_MAX_IDS,
	      "an accepted configuration is out of range", NULL);
	/* every [client NAME]: a valid, unique id, keys, a quota in the pool */
	for (unsigned int i = 0; i < a.nclients; i++) {
		char why[128];

		check(!rmem_key_id_check(a.clients[i].id, why, sizeof(why)) &&
		      a.clients[i].key_file[0] &&
		      a.clients[i].quota >= RMEM_FRAME_SIZE &&
		      a.clients[i].quota <= a.pool_size,
		      "an accepted [client] is out of range", a.clients[i].id);
		for (unsigned int j = 0; j < i; j++)
			check(strcmp(a.clients[i].id, a.clients[j].id),
			      "two [client] sections of one id", a.clients[i].id);
	}
	check(memchr(a.listen, '\0', sizeof(a.listen)) &&
	      memchr(a.key_file, '\0', sizeof(a.key_file)),
	      "a string key is not terminated", NULL);
	poold_config_defaults(&b);
	check(!poold_config_parse_string("fuzz.conf", text, &b, err,
					 sizeof(err)),
	      "a configuration accepted once is refused the second time", err);
	poold_config_restart_keys(&a, &b, keys, sizeof(keys));
	check(!keys[0], "the same file parsed twice needs a restart", keys);
}

static void fuzz_tab(const uint8_t *data, size_t size)
{
	static struct rmemtab_entry e[RMEMTAB_MAX];
	char path[64], err[1024];
	unsigned int n = 0, i, j;
	int fd, ret;

	fd = memfd_create("rmemtab", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	ret = rmemtab_load(path, e, RMEMTAB_MAX, &n, err, sizeof(err));
	close(fd);
	if (ret) {
		check(n == 0, "a refused table gave entries", NULL);
		check(!strncmp(err, path, strlen(path)),
		      "a refusal does not name the file", err);
		return;
	}
	for (i = 0; i < n; i++) {
		check(e[i].name[0] && e[i].donor[0] &&
		      e[i].opts.donor == e[i].donor && e[i].line >= 1,
		      "an entry is half filled", e[i].name);
		for (j = 0; j < i; j++)
			check(strcmp(e[i].name, e[j].name),
			      "a name appears twice", e[i].name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_poold(text);
	free(text);
	fuzz_tab(data, size);
	return 0;
}
