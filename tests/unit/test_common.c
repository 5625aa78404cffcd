// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of what donor and client share (userspace/lib/common.c): the
 * authentication transcript against known answers computed independently
 * (Python's hmac module), key files, address and size parsing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include <cmocka.h>

#include "rmem_common.h"

static const uint8_t kat_client_mac[32] = {
	0x17, 0x1e, 0x9b, 0x35, 0x3b, 0x83, 0x7b, 0x3b, 0x85, 0x31, 0xd2,
	0x37, 0x41, 0x5c, 0x90, 0xd4, 0xfb, 0x9a, 0xc9, 0x49, 0xab, 0x6b,
	0x9f, 0x5a, 0x07, 0x90, 0x37, 0xe5, 0x23, 0xd1, 0x7a, 0x2a,
};
static const uint8_t kat_donor_mac[32] = {
	0xfe, 0x2e, 0x85, 0x50, 0x96, 0xcd, 0x78, 0xf5, 0x1c, 0x5f, 0x5a,
	0x46, 0xb1, 0x63, 0x69, 0x5a, 0xd3, 0x1c, 0x67, 0xb2, 0x4f, 0x05,
	0xd4, 0x1d, 0xe5, 0xb1, 0x8a, 0xac, 0x8b, 0x97, 0xeb, 0xba,
};

static void test_auth_known_answer(void **state)
{
	struct rmem_key key = { .len = 32 };
	uint8_t cn[32], dn[32], mac[32];
	int i;

	(void)state;
	memcpy(key.bytes, "0123456789abcdef0123456789abcdef", 32);
	for (i = 0; i < 32; i++) {
		cn[i] = (uint8_t)i;
		dn[i] = (uint8_t)(32 + i);
	}
	rmem_auth_client_mac(&key, 1, cn, dn, mac);
	assert_memory_equal(mac, kat_client_mac, 32);
	rmem_auth_donor_mac(&key, 1, cn, dn, mac);
	assert_memory_equal(mac, kat_donor_mac, 32);
	assert_true(rmem_auth_equal(mac, kat_donor_mac));
	assert_false(rmem_auth_equal(mac, kat_client_mac));

	/* every input matters: version, each nonce, the key */
	rmem_auth_donor_mac(&key, 2, cn, dn, mac);
	assert_false(rmem_auth_equal(mac, kat_donor_mac));
	cn[31] ^= 1;
	rmem_auth_donor_mac(&key, 1, cn, dn, mac);
	assert_false(rmem_auth_equal(mac, kat_donor_mac));
	cn[31] ^= 1;
	dn[0] ^= 1;
	rmem_auth_donor_mac(&key, 1, cn, dn, mac);
	assert_false(rmem_auth_equal(mac, kat_donor_mac));
	dn[0] ^= 1;
	key.bytes[0] ^= 1;
	rmem_auth_donor_mac(&key, 1, cn, dn, mac);
	assert_false(rmem_auth_equal(mac, kat_donor_mac));
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rmem-test-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	return path;
}

/* Version 3: the transcript and both MACs over it (Python's hmac, hashlib) */
static const uint8_t kat3_th[32] = {
	0x1f, 0x56, 0x1e, 0x18, 0x40, 0x60, 0x8c, 0xac, 0xdf, 0x7c, 0xb4,
	0x62, 0xe9, 0xa3, 0x1b, 0xaa, 0x45, 0x7a, 0xc6, 0x1a, 0x89, 0x1b,
	0x5c, 0x83, 0x66, 0xba, 0x04, 0x98, 0x54, 0x94, 0x33, 0x90,
};
static const uint8_t kat3_client_mac[32] = {
	0x05, 0x01, 0x89, 0xd6, 0xd9, 0xd3, 0x37, 0x6b, 0xcf, 0x96, 0xc5,
	0x9e, 0xf2, 0xb1, 0x86, 0x59, 0xe2, 0x7b, 0x1d, 0x65, 0x82, 0x62,
	0xc4, 0x98, 0x44, 0xb3, 0xc2, 0x6f, 0x4f, 0x0e, 0x7f, 0x98,
};
static const uint8_t kat3_donor_mac[32] = {
	0xd9, 0x09, 0xd5, 0x07, 0xb7, 0xd5, 0x5c, 0xdc, 0x59, 0x82, 0x6e,
	0xae, 0x8d, 0x1a, 0x21, 0xfb, 0x7b, 0x17, 0x6d, 0xf9, 0xd5, 0x5e,
	0x19, 0x44, 0x28, 0x5e, 0x99, 0x5a, 0xcc, 0xb5, 0x4d, 0x8f,
};

static void test_auth3_known_answer(void **state)
{
	struct rmem_key key = { .len = 32 };
	struct rmem_hello h = {
		.min_version = htole16(1), .max_version = htole16(3),
		.name = "kat",
	};
	struct rmem_hello_reply hr = {
		.version = htole16(3), .min_version = htole16(1),
		.max_version = htole16(3),
	};
	struct rmem_auth_reply ar = {
		.quota_frames = htole64(1000), .free_frames = htole64(2000),
		.max_io_frames = htole32(256),
		.max_discard_extents = htole32(256),
		.frame_size = htole32(4096),
	};
	char id[RMEM_KEY_ID_SIZE] = "alice";
	uint8_t th[32], mac[32], cmac[32];
	int i;

	(void)state;
	memcpy(key.bytes, "0123456789abcdef0123456789abcdef", 32);
	for (i = 0; i < 32; i++) {
		h.nonce[i] = (uint8_t)i;
		hr.nonce[i] = (uint8_t)(32 + i);
	}
	rmem_auth_transcript(&h, &hr, id, th);
	assert_memory_equal(th, kat3_th, 32);
	rmem_auth3_client_mac(&key, th, cmac);
	assert_memory_equal(cmac, kat3_client_mac, 32);
	memset(ar.mac, 0xee, sizeof(ar.mac));	/* not covered: it is the MAC */
	rmem_auth3_donor_mac(&key, th, cmac, &ar, mac);
	assert_memory_equal(mac, kat3_donor_mac, 32);

	/* what the old MACs left out now counts: versions offered, flags,
	 * the name, the key id, the reply's quota */
	h.max_version = htole16(2);
	rmem_auth_transcript(&h, &hr, id, th);
	assert_memory_not_equal(th, kat3_th, 32);
	h.max_version = htole16(3);
	h.flags = htole32(1);
	rmem_auth_transcript(&h, &hr, id, th);
	assert_memory_not_equal(th, kat3_th, 32);
	h.flags = 0;
	h.name[0] = 'K';
	rmem_auth_transcript(&h, &hr, id, th);
	assert_memory_not_equal(th, kat3_th, 32);
	h.name[0] = 'k';
	hr.max_version = htole16(4);
	rmem_auth_transcript(&h, &hr, id, th);
	assert_memory_not_equal(th, kat3_th, 32);
	hr.max_version = htole16(3);
	id[0] = 'A';
	rmem_auth_transcript(&h, &hr, id, th);
	assert_memory_not_equal(th, kat3_th, 32);
	id[0] = 'a';
	rmem_auth_transcript(&h, &hr, id, th);
	assert_memory_equal(th, kat3_th, 32);
	ar.quota_frames = htole64(1001);
	rmem_auth3_donor_mac(&key, th, cmac, &ar, mac);
	assert_memory_not_equal(mac, kat3_donor_mac, 32);
}

/* The downgrade mark in the donor nonce (linux/rmem.h) */
static void test_downgrade_mark(void **state)
{
	uint8_t nonce[RMEM_NONCE_SIZE];
	uint16_t dmax = 0;

	(void)state;
	memset(nonce, 0x5a, sizeof(nonce));
	/* no mark: an older donor that really speaks only what it chose */
	assert_false(rmem_hello_downgraded(nonce, 2, 3, &dmax));
	rmem_hello_mark(nonce, 3);
	assert_memory_equal(nonce + 24, "RMEMDG\x03\x00", 8);
	assert_int_equal(nonce[23], 0x5a);	/* 24 random bytes are kept */
	/* we offered 3, it speaks 3, it came to 2: changed on the way */
	assert_true(rmem_hello_downgraded(nonce, 2, 3, &dmax));
	assert_int_equal(dmax, 3);
	/* we offered only 2 ourselves: the mark is right, no downgrade */
	assert_false(rmem_hello_downgraded(nonce, 2, 2, &dmax));
	/* a donor of 3 marked that it chose 3 below a later one's 4 */
	rmem_hello_mark(nonce, 3);
	assert_false(rmem_hello_downgraded(nonce, 3, 4, &dmax));
	rmem_hello_mark(nonce, 4);
	assert_true(rmem_hello_downgraded(nonce, 3, 4, &dmax));
}

static void test_key_id(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(rmem_key_id_check("alice", err, sizeof(err)), 0);
	assert_int_equal(rmem_key_id_check("web-1.prod_A", err, sizeof(err)),
			 0);
	assert_int_equal(rmem_key_id_check("abcdefghijklmnopqrstuvwxyz01234",
					   err, sizeof(err)), 0);
	assert_int_equal(rmem_key_id_check("abcdefghijklmnopqrstuvwxyz012345",
					   err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "key id 'abcdefghijklmnopqrstuvwxyz012345': 1 to 31 characters");
	assert_int_equal(rmem_key_id_check("", err, sizeof(err)), -EINVAL);
	assert_int_equal(rmem_key_id_check(".x", err, sizeof(err)), -EINVAL);
	assert_int_equal(rmem_key_id_check("a b", err, sizeof(err)), -EINVAL);
	assert_int_equal(rmem_key_id_check("a/b", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "key id 'a/b': letters, digits, '_', and '.' or '-' after the first");
}

static void test_key_load(void **state)
{
	struct rmem_key key;
	char err[512], hex[65];

	(void)state;
	assert_int_equal(rmem_key_load(write_file("k1", "0123456789abcdef\n\n"),
				       &key, err, sizeof(err)), 0);
	assert_int_equal(key.len, 16);
	assert_memory_equal(key.bytes, "0123456789abcdef", 16);

	assert_int_equal(rmem_key_load(write_file("k2", "short\n"), &key, err,
				       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rmemctl keygen"));

	/* a key that group or others may touch is refused, not warned of:
	 * whoever reads it can read and write its clients' swapped pages */
	{
		const char *p = write_file("k4", "0123456789abcdef\n");
		const mode_t modes[] = { 0640, 0604, 0620, 0602, 0610 };
		size_t i;

		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			assert_int_equal(chmod(p, modes[i]), 0);
			assert_int_equal(rmem_key_load(p, &key, err, sizeof(err)),
					 -EACCES);
			assert_non_null(strstr(err, "chmod 600"));
		}
		assert_int_equal(chmod(p, 0400), 0);
		assert_int_equal(rmem_key_load(p, &key, err, sizeof(err)), 0);
		/* owned by another user, not root: refused even at 0600 */
		if (geteuid() == 0) {
			assert_int_equal(chmod(p, 0600), 0);
			assert_int_equal(chown(p, 65534, 65534), 0);
			assert_int_equal(rmem_key_load(p, &key, err, sizeof(err)),
					 -EACCES);
			assert_non_null(strstr(err, "owned by uid 65534, not by root"));
		}
	}

	assert_int_equal(rmem_key_load("/nonexistent/key", &key, err,
				       sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/key"));

	assert_int_equal(rmem_key_load(tmpdir, &key, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));

	memset(hex, 'a', 64);
	hex[64] = 0;
	{
		char big[400];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		assert_int_equal(rmem_key_load(write_file("k3", big), &key,
					       err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "longer"));
	}

	assert_int_equal(rmem_key_generate(hex, sizeof(hex)), 0);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
	{
		char hex2[65];

		assert_int_equal(rmem_key_generate(hex2, sizeof(hex2)), 0);
		assert_string_not_equal(hex, hex2);
	}
	assert_int_equal(rmem_key_generate(hex, 10), -ENOSPC);
}

struct hp_case {
	const char *spec;
	int ret;
	const char *host;
	uint16_t port;
};

static const struct hp_case hp_cases[] = {
	{ "donor", 0, "donor", 7609 },
	{ "donor:7000", 0, "donor", 7000 },
	{ "10.1.2.3:1", 0, "10.1.2.3", 1 },
	{ "[::1]", 0, "::1", 7609 },
	{ "[fe80::1]:65535", 0, "fe80::1", 65535 },
	{ "::1", -EINVAL, NULL, 0 },
	{ "donor:0", -EINVAL, NULL, 0 },
	{ "donor:65536", -EINVAL, NULL, 0 },
	{ "donor:", -EINVAL, NULL, 0 },
	{ "donor:7x", -EINVAL, NULL, 0 },
	{ ":7000", -EINVAL, NULL, 0 },
	{ "[::1", -EINVAL, NULL, 0 },
	{ "[::1]x", -EINVAL, NULL, 0 },
	{ "", -EINVAL, NULL, 0 },
};

static void test_hostport(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hp_cases) / sizeof(hp_cases[0]); i++) {
		const struct hp_case *c = &hp_cases[i];
		char host[64], err[256] = "";
		uint16_t port = 0;
		int ret;

		ret = rmem_parse_hostport(c->spec, 7609, host, sizeof(host),
					  &port, err, sizeof(err));
		if (ret != c->ret)
			fail_msg("'%s': got %d, expected %d", c->spec, ret,
				 c->ret);
		if (ret) {
			assert_true(err[0]);
			continue;
		}
		assert_string_equal(host, c->host);
		assert_int_equal(port, c->port);
	}
}

static void test_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(rmem_parse_size("4096", &v), 0);
	assert_true(v == 4096);
	assert_int_equal(rmem_parse_size("64M", &v), 0);
	assert_true(v == 64ull << 20);
	assert_int_equal(rmem_parse_size("2GiB", &v), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(rmem_parse_size("1t", &v), 0);
	assert_true(v == 1ull << 40);
	assert_int_equal(rmem_parse_size("8KB", &v), 0);
	assert_true(v == 8192);
	assert_int_equal(rmem_parse_size("12X", &v), -EINVAL);
	assert_int_equal(rmem_parse_size("-1", &v), -EINVAL);
	assert_int_equal(rmem_parse_size("M", &v), -EINVAL);
	assert_int_equal(rmem_parse_size("1MM", &v), -EINVAL);
	assert_int_equal(rmem_parse_size("99999999999T", &v), -ERANGE);
	/* plain numbers, for the tools' options */
	assert_int_equal(rmem_parse_u64("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(rmem_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == ~0ull);
	assert_int_equal(rmem_parse_u64("0x40", &v), 0);
	assert_true(v == 64);
	assert_int_equal(rmem_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(rmem_parse_u64("-5", &v), -EINVAL);
	assert_int_equal(rmem_parse_u64(" 5", &v), -EINVAL);
	assert_int_equal(rmem_parse_u64("12x", &v), -EINVAL);
	assert_int_equal(rmem_parse_u64("", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_known_answer),
		cmocka_unit_test(test_auth3_known_answer),
		cmocka_unit_test(test_downgrade_mark),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test_setup_teardown(test_key_load, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
