// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Authentication transcript, key files, randomness and address parsing,
 * shared by rmem-poold and librmem. See rmem_common.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <endian.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rmem_common.h"

int rmem_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The key is the file's bytes with trailing white space removed, so that
 * "echo secret > key" and a hex line from rmemctl keygen both work. It is
 * compared as bytes, never decoded: what matters is that both ends read the
 * same file.
 */
const char *rmem_default_key_file(void)
{
	const char *env = getenv("RMEM_KEY_FILE");

	return env && *env ? env : RMEM_DEFAULT_KEY_FILE;
}

int rmem_key_load(const char *path, struct rmem_key *key,
		  char *err, size_t errlen)
{
	uint8_t buf[RMEM_KEY_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "key file %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "key file %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "key file %s: not a regular file", path);
		return -EINVAL;
	}
	/*
	 * Whoever reads the key can read and change every swapped page of
	 * its clients, and whoever writes it decides who may: as ssh with a
	 * private key, refuse a file others may touch, or that someone
	 * other than us (or root) owns. Checked on the open file, so that
	 * what is checked is what is read.
	 */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		snprintf(err, errlen,
			 "key file %s: group or others may access it (mode %04o): chmod 600 %s",
			 path, (unsigned int)(st.st_mode & 07777), path);
		return -EACCES;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		if (geteuid() == 0)
			snprintf(err, errlen,
				 "key file %s: owned by uid %u, not by root",
				 path, (unsigned int)st.st_uid);
		else
			snprintf(err, errlen,
				 "key file %s: owned by uid %u, neither this user (%u) nor root",
				 path, (unsigned int)st.st_uid,
				 (unsigned int)geteuid());
		return -EACCES;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			snprintf(err, errlen, "key file %s: %s", path,
				 strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	while (len && isspace(buf[len - 1]))
		len--;
	if (len > RMEM_KEY_MAX || len < RMEM_KEY_MIN)
		explicit_bzero(buf, sizeof(buf));	/* refused, but secret */
	if (len > RMEM_KEY_MAX) {
		snprintf(err, errlen, "key file %s: longer than %d bytes",
			 path, RMEM_KEY_MAX);
		return -EINVAL;
	}
	if (len < RMEM_KEY_MIN) {
		snprintf(err, errlen,
			 "key file %s: key shorter than %d bytes (make one with 'rmemctl keygen %s')",
			 path, RMEM_KEY_MIN, path);
		return -EINVAL;
	}
	memcpy(key->bytes, buf, len);
	key->len = len;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int rmem_key_generate(char *hex, size_t hexlen)
{
	uint8_t raw[32];
	size_t i;
	int ret;

	if (hexlen < 2 * sizeof(raw) + 1)
		return -ENOSPC;
	ret = rmem_random(raw, sizeof(raw));
	if (ret)
		return ret;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

static void rmem_auth_mac(const struct rmem_key *key, const char *label,
			  uint16_t version, const uint8_t *first,
			  const uint8_t *second, uint8_t *mac)
{
	uint8_t msg[16 + 2 + 2 * RMEM_NONCE_SIZE];
	size_t lablen = strlen(label), off = 0;
	uint16_t v = htole16(version);
	unsigned int maclen = RMEM_MAC_SIZE;

	memcpy(msg, label, lablen);
	off += lablen;
	memcpy(msg + off, &v, sizeof(v));
	off += sizeof(v);
	memcpy(msg + off, first, RMEM_NONCE_SIZE);
	off += RMEM_NONCE_SIZE;
	memcpy(msg + off, second, RMEM_NONCE_SIZE);
	off += RMEM_NONCE_SIZE;
	HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, off, mac, &maclen);
}

void rmem_auth_client_mac(const struct rmem_key *key, uint16_t version,
			  const uint8_t *client_nonce,
			  const uint8_t *donor_nonce, uint8_t *mac)
{
	rmem_auth_mac(key, "rmem-client", version, donor_nonce, client_nonce,
		      mac);
}

void rmem_auth_donor_mac(const struct rmem_key *key, uint16_t version,
			 const uint8_t *client_nonce,
			 const uint8_t *donor_nonce, uint8_t *mac)
{
	rmem_auth_mac(key, "rmem-donor", version, client_nonce, donor_nonce,
		      mac);
}

void rmem_auth_transcript(const struct rmem_hello *hello,
			  const struct rmem_hello_reply *reply,
			  const char key_id[RMEM_KEY_ID_SIZE], uint8_t *th)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = RMEM_MAC_SIZE;

	/* no context (out of memory): a transcript no peer can match */
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, hello, sizeof(*hello)) ||
	    !EVP_DigestUpdate(ctx, reply, sizeof(*reply)) ||
	    !EVP_DigestUpdate(ctx, key_id, RMEM_KEY_ID_SIZE) ||
	    !EVP_DigestFinal_ex(ctx, th, &len))
		rmem_random(th, RMEM_MAC_SIZE);
	EVP_MD_CTX_free(ctx);
}

void rmem_auth3_client_mac(const struct rmem_key *key, const uint8_t *th,
			   uint8_t *mac)
{
	static const char label[] = "rmem-client-3";
	uint8_t msg[sizeof(label) - 1 + RMEM_MAC_SIZE];
	unsigned int maclen = RMEM_MAC_SIZE;

	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, th, RMEM_MAC_SIZE);
	HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, sizeof(msg), mac,
	     &maclen);
}

void rmem_auth3_donor_mac(const struct rmem_key *key, const uint8_t *th,
			  const uint8_t *client_mac,
			  const struct rmem_auth_reply *rep, uint8_t *mac)
{
	static const char label[] = "rmem-donor-3";
	uint8_t msg[sizeof(label) - 1 + 2 * RMEM_MAC_SIZE +
		    sizeof(*rep) - RMEM_MAC_SIZE];
	unsigned int maclen = RMEM_MAC_SIZE;
	size_t off = sizeof(label) - 1;

	memcpy(msg, label, off);
	memcpy(msg + off, th, RMEM_MAC_SIZE);
	off += RMEM_MAC_SIZE;
	memcpy(msg + off, client_mac, RMEM_MAC_SIZE);
	off += RMEM_MAC_SIZE;
	memcpy(msg + off, (const uint8_t *)rep + RMEM_MAC_SIZE,
	       sizeof(*rep) - RMEM_MAC_SIZE);
	HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, sizeof(msg), mac,
	     &maclen);
}

void rmem_hello_mark(uint8_t *nonce, uint16_t donor_max)
{
	uint16_t v = htole16(donor_max);
	uint8_t *tail = nonce + RMEM_NONCE_SIZE - RMEM_DOWNGRADE_MARK_LEN - 2;

	memcpy(tail, RMEM_DOWNGRADE_MARK, RMEM_DOWNGRADE_MARK_LEN);
	memcpy(tail + RMEM_DOWNGRADE_MARK_LEN, &v, sizeof(v));
}

int rmem_hello_downgraded(const uint8_t *nonce, uint16_t chosen,
			  uint16_t client_max, uint16_t *donor_max)
{
	const uint8_t *tail = nonce + RMEM_NONCE_SIZE -
			      RMEM_DOWNGRADE_MARK_LEN - 2;
	uint16_t v;

	if (chosen >= client_max ||
	    memcmp(tail, RMEM_DOWNGRADE_MARK, RMEM_DOWNGRADE_MARK_LEN))
		return 0;
	memcpy(&v, tail + RMEM_DOWNGRADE_MARK_LEN, sizeof(v));
	v = le16toh(v);
	*donor_max = v;
	/* a donor speaking v would have chosen min(client_max, v) */
	return v > chosen;
}

int rmem_key_id_check(const char *id, char *err, size_t errlen)
{
	size_t i, n = strlen(id);

	if (n == 0 || n >= RMEM_KEY_ID_SIZE) {
		snprintf(err, errlen, "key id '%s': 1 to %d characters", id,
			 RMEM_KEY_ID_SIZE - 1);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char ch = id[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' ||
		    (i && (ch == '.' || ch == '-')))
			continue;
		snprintf(err, errlen,
			 "key id '%s': letters, digits, '_', and '.' or '-' after the first",
			 id);
		return -EINVAL;
	}
	return 0;
}

int rmem_auth_equal(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, RMEM_MAC_SIZE) == 0;
}

int rmem_parse_hostport(const char *spec, uint16_t default_port,
			char *host, size_t hostlen, uint16_t *port,
			char *err, size_t errlen)
{
	const char *h = spec, *p = NULL;
	size_t hl;

	if (!spec || !*spec) {
		snprintf(err, errlen, "empty donor address");
		return -EINVAL;
	}
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end) {
			snprintf(err, errlen, "'%s': missing ']'", spec);
			return -EINVAL;
		}
		h = spec + 1;
		hl = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
		else if (end[1]) {
			snprintf(err, errlen, "'%s': junk after ']'", spec);
			return -EINVAL;
		}
	} else {
		const char *c = strchr(spec, ':');

		if (c && strchr(c + 1, ':')) {
			snprintf(err, errlen,
				 "'%s': write IPv6 addresses as [addr]:port",
				 spec);
			return -EINVAL;
		}
		hl = c ? (size_t)(c - spec) : strlen(spec);
		p = c ? c + 1 : NULL;
	}
	if (hl == 0 || hl >= hostlen) {
		snprintf(err, errlen, "'%s': bad host name", spec);
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = default_port;
	if (p) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (!*p || *end || errno || v == 0 || v > 65535) {
			snprintf(err, errlen, "'%s': bad port '%s'", spec, p);
			return -EINVAL;
		}
		*port = (uint16_t)v;
	}
	return 0;
}

int rmem_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;		/* no sign, no blanks */
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*v = x;
	return 0;
}

int rmem_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		/* accept K, KB, KiB and friends */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

void rmem_fill_pattern(void *page, uint64_t seed, uint64_t frame)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^
		     (frame + 1) * 0xbf58476d1ce4e5b9ull;
	uint8_t *p = page;
	unsigned int i;

	/* xorshift64: cheap, and no two (seed, frame) pages alike */
	for (i = 0; i < RMEM_FRAME_SIZE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

int rmem_protect_from_oom(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "-1000", 5) != 5)
		ret = -errno;
	close(fd);
	return ret;
}

int rmem_mark_io_flusher(void)
{
#ifdef PR_SET_IO_FLUSHER
	return prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) ? -errno : 0;
#else
	return -ENOSYS;
#endif
}

bool rmem_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
	       !fstat(STDERR_FILENO, &st) &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}
