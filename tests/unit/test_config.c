// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of rmem-poold's config parser: values and defaults, and for
 * each kind of bad line, the file:line: reason the operator sees.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "server.h"

static void test_full(void **state)
{
	struct poold_config c;
	char err[1024];

	(void)state;
	assert_int_equal(poold_config_parse_string("t.conf",
		"# comment\n"
		"[server]\n"
		"listen = ::1\n"
		"port = 9000\n"
		"max_clients = 3 ; inline comment\n"
		"idle_timeout = 0   # and this style\n"
		"handshake_timeout = 2\n"
		"threads = 4\n"
		"max_startups = 5:40:20\n"
		"source_startups = 3\n"
		"[pool]\n"
		"size = 64M\n"
		"hugepages = try\n"
		"lock = no\n"
		"[auth]\n"
		"key_file = /k\n"
		"quota = 16M\n"
		"[log]\n"
		"level = debug\n"
		"target = syslog\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "::1");
	assert_int_equal(c.port, 9000);
	assert_int_equal(c.max_clients, 3);
	assert_int_equal(c.idle_timeout, 0);
	assert_int_equal(c.handshake_timeout, 2);
	assert_int_equal(c.threads, 4);
	assert_int_equal(server_threads(&c), 4);
	assert_int_equal(c.startups.begin, 5);
	assert_int_equal(c.startups.rate, 40);
	assert_int_equal(c.startups.full, 20);
	assert_int_equal(c.source_startups, 3);
	assert_true(c.pool_size == 64ull << 20);
	assert_int_equal(c.hugepages, POOLD_HUGE_TRY);
	assert_false(c.lock);
	assert_string_equal(c.key_file, "/k");
	assert_true(c.quota == 16ull << 20);
	assert_int_equal(c.log_level, POOLD_LOG_DEBUG);
	assert_true(c.log_syslog);
}

static void test_defaults(void **state)
{
	struct poold_config c;
	char err[1024];

	(void)state;
	assert_int_equal(poold_config_parse_string("t.conf",
		"[pool]\nsize = 8M\n[auth]\nkey_file = /k\n", &c, err,
		sizeof(err)), 0);
	assert_string_equal(c.listen, "127.0.0.1");
	assert_int_equal(c.port, 7609);
	assert_int_equal(c.max_clients, 64);
	assert_int_equal(c.idle_timeout, 300);
	assert_int_equal(c.startups.begin, 16);
	assert_int_equal(c.startups.rate, 30);
	assert_int_equal(c.startups.full, 128);
	assert_int_equal(c.source_startups, 8);
	assert_int_equal(c.keepalive, 60);
	/* threads = auto: a loop per two CPUs, 1..POOLD_AUTO_THREADS */
	assert_int_equal(c.threads, 0);
	{
		long half = sysconf(_SC_NPROCESSORS_ONLN) / 2;

		assert_int_equal(server_threads(&c),
				 half < 1 ? 1 : half > POOLD_AUTO_THREADS ?
				 POOLD_AUTO_THREADS : half);
	}
	assert_true(c.lock);
	assert_int_equal(c.hugepages, POOLD_HUGE_NO);
	/* no quota: a client may take the whole pool */
	assert_true(c.quota == 8ull << 20);
	assert_false(c.log_syslog);
}

static void test_example_file(void **state)
{
	struct poold_config c;
	char err[1024];

	(void)state;
	/* the shipped, commented example must stay valid */
	if (poold_config_load("etc/rmem-poold.conf", &c, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(c.pool_size >= 1 << 20);
}

struct bad_case {
	const char *text;
	const char *error;	/* exact message */
};

#define HDR "[pool]\nsize = 8M\n[auth]\nkey_file = /k\n"

static const struct bad_case bad_cases[] = {
	{ HDR "[pool]\nsizee = 1M\n",
	  "t.conf:6: unknown key 'sizee' in [pool]" },
	{ HDR "[poool]\nsize = 1M\n",
	  "t.conf:6: unknown section [poool] (expected [server], [pool], [auth], [client NAME] or [log])" },
	{ "size = 8M\n" HDR,
	  "t.conf:1: 'size' is outside any section ([server], [pool], [auth], [client NAME], [log])" },
	{ "[pool]\nsize = 8Q\n[auth]\nkey_file = /k\n",
	  "t.conf:2: [pool] size: '8Q' is not a size (a number with an optional K, M, G or T suffix)" },
	{ "[pool]\nsize = 5000\n[auth]\nkey_file = /k\n",
	  "t.conf:2: [pool] size: 5000 is not a multiple of the 4096-byte frame" },
	{ "[pool]\nsize = 8M\nsize = 16M\n[auth]\nkey_file = /k\n",
	  "t.conf:3: [pool] size is set twice" },
	{ HDR "[server]\nport = 70000\n",
	  "t.conf:6: [server] port: 70000 is out of range 0..65535" },
	{ HDR "[server]\nmax_clients = -3\n",
	  "t.conf:6: [server] max_clients: '-3' is not a whole number" },
	{ HDR "[server]\nmax_clients = 0\n",
	  "t.conf:6: [server] max_clients: 0 is out of range 1..65536" },
	{ HDR "[server]\nthreads = 0\n",
	  "t.conf:6: [server] threads: 0 is out of range 1..64" },
	{ HDR "[server]\nthreads = 65\n",
	  "t.conf:6: [server] threads: 65 is out of range 1..64" },
	{ HDR "[server]\nthreads = many\n",
	  "t.conf:6: [server] threads: 'many' is not auto or a whole number" },
	{ HDR "[server]\nthreads = AUTO\n", NULL },
	{ HDR "[server]\nmax_startups = 7\n", NULL },
	{ HDR "[server]\nmax_startups = 10:30\n",
	  "t.conf:6: [server] max_startups: '10:30' is not a number or begin:rate:full" },
	{ HDR "[server]\nmax_startups = 10:30:60:\n",
	  "t.conf:6: [server] max_startups: '10:30:60:' is not a number or begin:rate:full" },
	{ HDR "[server]\nmax_startups = 30:30:10\n",
	  "t.conf:6: [server] max_startups: '30:30:10' is out of range (1 <= begin <= full <= 65536, rate 0..100)" },
	{ HDR "[server]\nmax_startups = 0\n",
	  "t.conf:6: [server] max_startups: '0' is out of range (1 <= begin <= full <= 65536, rate 0..100)" },
	{ HDR "[server]\nmax_startups = 1:101:5\n",
	  "t.conf:6: [server] max_startups: '1:101:5' is out of range (1 <= begin <= full <= 65536, rate 0..100)" },
	{ HDR "[server]\nkeepalive = 0\n", NULL },
	{ HDR "[server]\nkeepalive = 32767\n", NULL },
	{ HDR "[server]\nkeepalive = 32768\n",
	  "t.conf:6: [server] keepalive: 32768 is out of range 0..32767" },
	{ HDR "[server]\nsource_startups = 0\n",
	  "t.conf:6: [server] source_startups: 0 is out of range 1..65536" },
	{ HDR "[pool]\n", NULL },	/* reopening a section is fine */
	{ HDR "[pool]\nlock = maybe\n",
	  "t.conf:6: [pool] lock: 'maybe' is not yes or no" },
	{ HDR "[pool]\nhugepages = always\n",
	  "t.conf:6: [pool] hugepages: 'always' is not yes, no or try" },
	{ HDR "[log]\nlevel = loud\n",
	  "t.conf:6: [log] level: 'loud' is not error, warning, info or debug" },
	{ HDR "[log]\ntarget = file\n",
	  "t.conf:6: [log] target: 'file' is not stderr or syslog" },
	{ HDR "this line has no equals sign\n",
	  "t.conf:5: syntax error (expected '[section]', 'key = value' or a comment)" },
	{ HDR "[server\n",
	  "t.conf:5: syntax error (expected '[section]', 'key = value' or a comment)" },
	{ HDR "[server]\nlisten =\n",
	  "t.conf:6: [server] listen: empty value" },
	{ "[pool]\nsize = 8M\n",
	  "t.conf: missing [auth] key_file (or a [client NAME] section)" },
	/* named keys */
	{ "[pool]\nsize = 8M\n[client alice]\nkey_file = /a\n", NULL },
	{ HDR "[client alice]\nkey_file = /a, /a.new\nquota = 4M\n", NULL },
	{ HDR "[client]\nkey_file = /a\n",
	  "t.conf:6: [client] needs a key id: [client NAME]" },
	{ HDR "[client al/ice]\nkey_file = /a\n",
	  "t.conf:6: key id 'al/ice': letters, digits, '_', and '.' or '-' after the first" },
	{ HDR "[client -x]\nkey_file = /a\n",
	  "t.conf:6: key id '-x': letters, digits, '_', and '.' or '-' after the first" },
	{ HDR "[client abcdefghijklmnopqrstuvwxyz0123456]\nkey_file = /a\n",
	  "t.conf:6: key id 'abcdefghijklmnopqrstuvwxyz0123456': 1 to 31 characters" },
	{ HDR "[client alice]\nkey = /a\n",
	  "t.conf:6: unknown key 'key' in [client alice] (expected key_file or quota)" },
	{ HDR "[client alice]\nkey_file = /a\n[client alice]\nkey_file = /b\n",
	  "t.conf:8: [client alice] key_file is set twice" },
	{ HDR "[client alice]\nkey_file = /a\nquota = lots\n",
	  "t.conf:7: [client alice] quota: 'lots' is not a size (a number with an optional K, M, G or T suffix)" },
	{ HDR "[client alice]\nquota = 4M\n",
	  "t.conf: missing [client alice] key_file" },
	{ HDR "[client alice]\nkey_file = /a\nquota = 16M\n",
	  "t.conf: [client alice] quota (16777216 bytes) is larger than [pool] size (8388608 bytes)" },
	{ "[auth]\nkey_file = /k\n",
	  "t.conf: missing [pool] size" },
	{ HDR "[auth]\nquota = 16M\n",
	  "t.conf: [auth] quota (16777216 bytes) is larger than [pool] size (8388608 bytes)" },
	{ "[pool]\nsize = 6M\nhugepages = yes\n[auth]\nkey_file = /k\n",
	  NULL },	/* 6M is a multiple of 2M: fine */
	{ "[pool]\nsize = 1028K\nhugepages = try\n[auth]\nkey_file = /k\n",
	  "t.conf: [pool] size must be a multiple of 2M with hugepages" },
};

static void test_bad_lines(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct poold_config c;
		char err[1024] = "";
		int ret;

		ret = poold_config_parse_string("t.conf", b->text, &c, err,
						sizeof(err));
		if (!b->error) {
			if (ret)
				fail_msg("case %zu: unexpected error: %s", i, err);
			continue;
		}
		if (!ret)
			fail_msg("case %zu: accepted, expected: %s", i, b->error);
		if (strcmp(err, b->error))
			fail_msg("case %zu:\n  got:      %s\n  expected: %s", i,
				 err, b->error);
	}
}

static void test_missing_file(void **state)
{
	struct poold_config c;
	char err[1024];

	(void)state;
	assert_int_not_equal(poold_config_load("/nonexistent.conf", &c, err,
					       sizeof(err)), 0);
	assert_string_equal(err, "/nonexistent.conf: No such file or directory");
}

/* Key files of [auth] and [client NAME]: lists, relative paths, errors. */
static void write_key(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static void test_keyring(void **state)
{
	char dir[] = "/tmp/rmem-keyring-XXXXXX", text[1024], err[1024];
	static struct poold_keyring kr;
	const struct poold_ident *id;
	struct poold_config c;
	uint8_t fp[RMEM_MAC_SIZE];

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_key(dir, "k", "0123456789abcdef-default\n");
	write_key(dir, "a", "0123456789abcdef-alice-old\n");
	write_key(dir, "a.new", "0123456789abcdef-alice-new\n");
	write_key(dir, "b", "0123456789abcdef-bob\n");
	snprintf(text, sizeof(text),
		 "[pool]\nsize = 8M\n[auth]\nkey_file = %s/k\nquota = 2M\n"
		 "[client alice]\nkey_file = a ,%s/a.new\nquota = 4M\n"
		 "[client bob]\nkey_file = %s/b\n", dir, dir, dir);
	assert_int_equal(poold_config_parse_string("t.conf", text, &c, err,
						   sizeof(err)), 0);
	assert_int_equal(c.nclients, 2);
	assert_int_equal(c.clients[1].quota, 8 << 20);	/* the pool's */
	assert_int_equal(poold_keyring_load(&c, dir, &kr, err, sizeof(err)),
			 0);
	assert_int_equal(kr.n, 3);
	id = poold_keyring_find(&kr, "");
	assert_non_null(id);
	assert_int_equal(id->nkeys, 1);
	assert_int_equal(id->quota_frames, 512);
	id = poold_keyring_find(&kr, "alice");
	assert_non_null(id);
	assert_int_equal(id->nkeys, 2);
	assert_int_equal(id->quota_frames, 1024);
	assert_memory_equal(id->keys[1].bytes, "0123456789abcdef-alice-new", 26);
	memcpy(fp, id->fp[0], sizeof(fp));
	assert_true(poold_keyring_holds(&kr, "alice", fp));
	assert_false(poold_keyring_holds(&kr, "bob", fp));
	assert_false(poold_keyring_holds(&kr, "", fp));
	assert_null(poold_keyring_find(&kr, "carol"));
	assert_false(poold_keyring_holds(&kr, "carol", fp));
	poold_keyring_clear(&kr);

	/* one key, one name: the same key under two names, or under one
	 * twice (even from a copy of the file), is refused */
	{
		static const struct { const char *conf, *why; } dup[] = {
			{ "[client bob]\nkey_file = %s/a\n",
			  "the same key as one of [client alice]'s" },
			{ "[client bob]\nkey_file = %s/k\n",
			  "the same key as one of [auth]'s" },
			{ "[client bob]\nkey_file = %s/b, %s/b\n",
			  "the same key is listed twice" },
		};
		size_t i;

		write_key(dir, "a.copy", "0123456789abcdef-alice-old\n");
		for (i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
			char tail[512];

			snprintf(tail, sizeof(tail), dup[i].conf, dir, dir);
			snprintf(text, sizeof(text),
				 "[pool]\nsize = 8M\n[auth]\nkey_file = %s/k\n"
				 "[client alice]\nkey_file = %s/a\n%s", dir,
				 dir, tail);
			assert_int_equal(poold_config_parse_string("t.conf", text,
					 &c, err, sizeof(err)), 0);
			assert_int_equal(poold_keyring_load(&c, dir, &kr, err,
							    sizeof(err)), -EINVAL);
			if (!strstr(err, dup[i].why))
				fail_msg("'%s', expected '%s'", err, dup[i].why);
			assert_non_null(strstr(err, "[client bob] key_file: key file "));
		}
		snprintf(text, sizeof(text),
			 "[pool]\nsize = 8M\n[auth]\nkey_file = %s/k\n"
			 "[client alice]\nkey_file = %s/a, %s/a.copy\n", dir,
			 dir, dir);
		assert_int_equal(poold_config_parse_string("t.conf", text, &c,
							   err, sizeof(err)), 0);
		assert_int_equal(poold_keyring_load(&c, dir, &kr, err,
						    sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "a.copy: the same key is listed twice"));
	}

	/* the donor keeps each key as HMAC uses it (64 bytes: hashed if
	 * longer, zero-padded): the same MACs as the key file's bytes */
	{
		static const char *const text_keys[] = {
			"0123456789abcdef",
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			"0123456789abcdef0123456789abcdef0123456789abcdef-longer-than-a-block",
		};
		uint8_t th[RMEM_MAC_SIZE], m1[RMEM_MAC_SIZE], m2[RMEM_MAC_SIZE];
		struct rmem_key raw;
		size_t i;

		memset(th, 0x33, sizeof(th));
		for (i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++) {
			char line[300], path[300];

			snprintf(line, sizeof(line), "%s\n", text_keys[i]);
			write_key(dir, "n", line);
			snprintf(text, sizeof(text),
				 "[pool]\nsize = 8M\n[auth]\nkey_file = %s/n\n", dir);
			assert_int_equal(poold_config_parse_string("t.conf", text,
					 &c, err, sizeof(err)), 0);
			assert_int_equal(poold_keyring_load(&c, dir, &kr, err,
							    sizeof(err)), 0);
			id = poold_keyring_find(&kr, "");
			assert_non_null(id);
			assert_int_equal(id->keys[0].len, 64);
			snprintf(path, sizeof(path), "%s/n", dir);
			assert_int_equal(rmem_key_load(path, &raw, err,
						       sizeof(err)), 0);
			rmem_auth3_client_mac(&raw, th, m1);
			rmem_auth3_client_mac(&id->keys[0], th, m2);
			assert_memory_equal(m1, m2, sizeof(m1));
			poold_keyring_clear(&kr);
		}
	}

	/* no [auth] key: id "" has none and is not found */
	snprintf(text, sizeof(text),
		 "[pool]\nsize = 8M\n[client alice]\nkey_file = %s/a\n", dir);
	assert_int_equal(poold_config_parse_string("t.conf", text, &c, err,
						   sizeof(err)), 0);
	assert_int_equal(poold_keyring_load(&c, dir, &kr, err, sizeof(err)),
			 0);
	assert_null(poold_keyring_find(&kr, ""));

	/* errors name the section */
	snprintf(text, sizeof(text),
		 "[pool]\nsize = 8M\n[auth]\nkey_file = %s/k\n"
		 "[client alice]\nkey_file = %s/a,,%s/k\n", dir, dir, dir);
	assert_int_equal(poold_config_parse_string("t.conf", text, &c, err,
						   sizeof(err)), 0);
	assert_int_not_equal(poold_keyring_load(&c, dir, &kr, err,
						sizeof(err)), 0);
	assert_non_null(strstr(err, "[client alice] key_file: "));
	assert_non_null(strstr(err, "an empty key file name"));
	snprintf(text, sizeof(text),
		 "[pool]\nsize = 8M\n[auth]\nkey_file = k,a,a.new,b,k\n");
	assert_int_equal(poold_config_parse_string("t.conf", text, &c, err,
						   sizeof(err)), 0);
	assert_int_not_equal(poold_keyring_load(&c, dir, &kr, err,
						sizeof(err)), 0);
	assert_non_null(strstr(err, "[auth] key_file: "));
	assert_non_null(strstr(err, "more than 4 key files"));
	snprintf(text, sizeof(text),
		 "[pool]\nsize = 8M\n[auth]\nkey_file = missing\n");
	assert_int_equal(poold_config_parse_string("t.conf", text, &c, err,
						   sizeof(err)), 0);
	assert_int_not_equal(poold_keyring_load(&c, dir, &kr, err,
						sizeof(err)), 0);
	assert_non_null(strstr(err, "[auth] key_file: "));
	assert_non_null(strstr(err, "/missing"));

	snprintf(text, sizeof(text), "rm -rf '%s'", dir);
	assert_int_equal(system(text), 0);
}

static void test_restart_keys(void **state)
{
	struct poold_config a, b;
	char err[1024], keys[512];

	(void)state;
	assert_int_equal(poold_config_parse_string("a", HDR, &a, err,
						   sizeof(err)), 0);
	assert_int_equal(poold_config_parse_string("b", HDR
		"[server]\nmax_clients = 5\nidle_timeout = 1\n", &b, err,
		sizeof(err)), 0);
	poold_config_restart_keys(&a, &b, keys, sizeof(keys));
	assert_string_equal(keys, "");
	assert_int_equal(poold_config_parse_string("b",
		"[pool]\nsize = 16M\n[auth]\nkey_file = /k\n"
		"[server]\nport = 1\nthreads = 2\n", &b, err, sizeof(err)), 0);
	poold_config_restart_keys(&a, &b, keys, sizeof(keys));
	assert_string_equal(keys, "[server] port, [server] threads, [pool] size");
}

/* a relative path is the start directory's, one that is gone an error */
static void test_abspath(void **state)
{
	char path[64], err[256];

	(void)state;
	snprintf(path, sizeof(path), "key");
	assert_int_equal(poold_config_abspath(path, sizeof(path), "/etc/rmem",
					      err, sizeof(err)), 0);
	assert_string_equal(path, "/etc/rmem/key");
	assert_int_equal(poold_config_abspath(path, sizeof(path), "/x", err,
					      sizeof(err)), 0);
	assert_string_equal(path, "/etc/rmem/key");	/* absolute: kept */
	snprintf(path, sizeof(path), "key");
	assert_int_equal(poold_config_abspath(path, sizeof(path), NULL, err,
					      sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "getcwd failed"));
	assert_string_equal(path, "key");
	assert_int_equal(poold_config_abspath(path, 8, "/a/long/directory",
					      err, sizeof(err)), -ENAMETOOLONG);
	assert_string_equal(path, "key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_abspath),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_restart_keys),
		cmocka_unit_test(test_keyring),
	};

	poold_log_setup(POOLD_LOG_ERROR, false);
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
