// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rmem-poold configuration: one table of keys, in the style of nbd-server,
 * drives parsing, defaults, validation and what SIGHUP may change. Errors
 * name the file, the line and the reason.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <openssl/evp.h>

#include "config.h"
#include "log.h"
#include "rmem_common.h"
#include <linux/rmem.h>

enum poold_key_type {
	KEY_STRING,
	KEY_UINT,
	KEY_SIZE,
	KEY_BOOL,
	KEY_HUGE,
	KEY_LEVEL,
	KEY_TARGET,
	KEY_THREADS,
	KEY_STARTUPS,
};

struct poold_key {
	const char *section;
	const char *name;
	enum poold_key_type type;
	size_t offset;
	size_t size;		/* KEY_STRING: buffer size */
	uint64_t min, max;	/* KEY_UINT, KEY_SIZE */
	bool required;
	bool reload;		/* SIGHUP applies a new value */
};

#define CFG(f)		offsetof(struct poold_config, f), \
			sizeof(((struct poold_config *)0)->f)

static const struct poold_key poold_keys[] = {
	{ "server", "listen", KEY_STRING, CFG(listen), 0, 0, false, false },
	{ "server", "port", KEY_UINT, CFG(port), 0, 65535, false, false },
	{ "server", "max_clients", KEY_UINT, CFG(max_clients), 1, 65536,
	  false, true },
	{ "server", "idle_timeout", KEY_UINT, CFG(idle_timeout), 0, 604800,
	  false, true },
	{ "server", "handshake_timeout", KEY_UINT, CFG(handshake_timeout), 1,
	  3600, false, true },
	{ "server", "threads", KEY_THREADS, CFG(threads), 1,
	  POOLD_MAX_THREADS, false, false },
	{ "server", "max_startups", KEY_STARTUPS, CFG(startups), 1, 65536,
	  false, true },
	{ "server", "source_startups", KEY_UINT, CFG(source_startups), 1,
	  65536, false, true },
	/* TCP_KEEPIDLE's own maximum (MAX_TCP_KEEPIDLE) */
	{ "server", "keepalive", KEY_UINT, CFG(keepalive), 0, 32767, false,
	  true },
	{ "pool", "size", KEY_SIZE, CFG(pool_size), RMEM_FRAME_SIZE,
	  (uint64_t)RMEM_FRAME_SIZE << 32, true, false },
	{ "pool", "hugepages", KEY_HUGE, CFG(hugepages), 0, 0, false, false },
	{ "pool", "lock", KEY_BOOL, CFG(lock), 0, 0, false, false },
	/* required unless a [client NAME] gives a key (poold_finish) */
	{ "auth", "key_file", KEY_STRING, CFG(key_file), 0, 0, false, true },
	{ "auth", "quota", KEY_SIZE, CFG(quota), 0,
	  (uint64_t)RMEM_FRAME_SIZE << 32, false, true },
	{ "log", "level", KEY_LEVEL, CFG(log_level), 0, 0, false, true },
	{ "log", "target", KEY_TARGET, CFG(log_syslog), 0, 0, false, true },
};

#define POOLD_NKEYS (sizeof(poold_keys) / sizeof(poold_keys[0]))

struct poold_parse {
	struct poold_config *cfg;
	bool seen[POOLD_NKEYS];
	bool client_seen[POOLD_MAX_IDS][2];	/* key_file, quota */
	char where[300];	/* "[section] key: " of a bad value */
	char reason[512];
};

void poold_config_defaults(struct poold_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1");
	cfg->port = RMEM_DEFAULT_PORT;
	cfg->max_clients = 64;
	cfg->idle_timeout = 300;
	cfg->handshake_timeout = 10;
	/* Documentation/admin-guide/rmem-poold.rst says why these */
	cfg->startups = (struct poold_startups){ 16, 30, 128 };
	cfg->source_startups = 8;
	cfg->keepalive = 60;
	cfg->hugepages = POOLD_HUGE_NO;
	cfg->lock = true;
	cfg->log_level = POOLD_LOG_INFO;
}

static int poold_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* "N" (drop every one past N) or sshd's "begin:rate:full". */
static int poold_parse_startups(struct poold_parse *p,
				const struct poold_key *k, const char *v,
				struct poold_startups *out)
{
	unsigned long long n[3];
	int fields = 0;
	const char *c = v;
	char *end = (char *)v;

	while (fields < 3) {
		errno = 0;
		n[fields] = strtoull(c, &end, 10);
		if (end == c || errno || *c == '-' || *c == '+')
			break;
		fields++;
		if (*end != ':')
			break;
		c = end + 1;
	}
	if ((fields != 1 && fields != 3) || *end) {
		snprintf(p->reason, sizeof(p->reason),
			 "'%s' is not a number or begin:rate:full", v);
		return -EINVAL;
	}
	if (fields == 1) {
		n[1] = 100;
		n[2] = n[0];
	}
	if (n[0] < k->min || n[2] > k->max || n[0] > n[2] || n[1] > 100) {
		snprintf(p->reason, sizeof(p->reason),
			 "'%s' is out of range (1 <= begin <= full <= %llu, rate 0..100)",
			 v, (unsigned long long)k->max);
		return -ERANGE;
	}
	out->begin = (unsigned int)n[0];
	out->rate = (unsigned int)n[1];
	out->full = (unsigned int)n[2];
	return 0;
}

static int poold_set(struct poold_parse *p, const struct poold_key *k,
		     const char *v)
{
	void *dst = (char *)p->cfg + k->offset;
	uint64_t n;
	bool b;
	int level;
	char *end;

	switch (k->type) {
	case KEY_STRING:
		if (!*v) {
			snprintf(p->reason, sizeof(p->reason), "empty value");
			return -EINVAL;
		}
		if (strlen(v) >= k->size) {
			snprintf(p->reason, sizeof(p->reason),
				 "value longer than %zu characters", k->size - 1);
			return -EINVAL;
		}
		memcpy(dst, v, strlen(v) + 1);
		return 0;
	case KEY_THREADS:
		if (!strcasecmp(v, "auto")) {
			*(unsigned int *)dst = 0;
			return 0;
		}
		/* not auto: a number */
		/* fall through */
	case KEY_UINT:
		errno = 0;
		n = strtoull(v, &end, 10);
		if (!*v || *end || errno || *v == '-') {
			snprintf(p->reason, sizeof(p->reason),
				 k->type == KEY_THREADS ?
				 "'%s' is not auto or a whole number" :
				 "'%s' is not a whole number", v);
			return -EINVAL;
		}
		if (n < k->min || n > k->max) {
			snprintf(p->reason, sizeof(p->reason),
				 "%llu is out of range %llu..%llu",
				 (unsigned long long)n,
				 (unsigned long long)k->min,
				 (unsigned long long)k->max);
			return -ERANGE;
		}
		*(unsigned int *)dst = (unsigned int)n;
		return 0;
	case KEY_SIZE:
		if (rmem_parse_size(v, &n)) {
			snprintf(p->reason, sizeof(p->reason),
				 "'%s' is not a size (a number with an optional K, M, G or T suffix)",
				 v);
			return -EINVAL;
		}
		if (n < k->min || n > k->max) {
			snprintf(p->reason, sizeof(p->reason),
				 "%s is out of range %llu..%llu bytes", v,
				 (unsigned long long)k->min,
				 (unsigned long long)k->max);
			return -ERANGE;
		}
		if (n % RMEM_FRAME_SIZE) {
			snprintf(p->reason, sizeof(p->reason),
				 "%s is not a multiple of the %u-byte frame",
				 v, RMEM_FRAME_SIZE);
			return -EINVAL;
		}
		*(uint64_t *)dst = n;
		return 0;
	case KEY_STARTUPS:
		return poold_parse_startups(p, k, v, dst);
	case KEY_BOOL:
		if (poold_parse_bool(v, &b)) {
			snprintf(p->reason, sizeof(p->reason),
				 "'%s' is not yes or no", v);
			return -EINVAL;
		}
		*(bool *)dst = b;
		return 0;
	case KEY_HUGE:
		if (!strcasecmp(v, "try")) {
			*(int *)dst = POOLD_HUGE_TRY;
			return 0;
		}
		if (poold_parse_bool(v, &b)) {
			snprintf(p->reason, sizeof(p->reason),
				 "'%s' is not yes, no or try", v);
			return -EINVAL;
		}
		*(int *)dst = b ? POOLD_HUGE_YES : POOLD_HUGE_NO;
		return 0;
	case KEY_LEVEL:
		level = poold_log_level_parse(v);
		if (level < 0) {
			snprintf(p->reason, sizeof(p->reason),
				 "'%s' is not error, warning, info or debug", v);
			return -EINVAL;
		}
		*(int *)dst = level;
		return 0;
	case KEY_TARGET:
		if (!strcasecmp(v, "stderr") || !strcasecmp(v, "syslog")) {
			*(bool *)dst = !strcasecmp(v, "syslog");
			return 0;
		}
		snprintf(p->reason, sizeof(p->reason),
			 "'%s' is not stderr or syslog", v);
		return -EINVAL;
	}
	return -EINVAL;
}

/*
 * A key of [client NAME]: key_file (required) and quota. The sections
 * are kept in the order the file gives them.
 */
static int poold_client_key(struct poold_parse *p, const char *section,
			    const char *id, const char *name,
			    const char *value)
{
	struct poold_config *cfg = p->cfg;
	struct poold_client_conf *cc = NULL;
	struct poold_key k = { 0 };
	struct poold_parse sub;
	unsigned int i;
	bool *seen;

	if (rmem_key_id_check(id, p->reason, sizeof(p->reason)))
		return 0;
	for (i = 0; i < cfg->nclients; i++)
		if (!strcmp(cfg->clients[i].id, id))
			cc = &cfg->clients[i];
	if (!cc) {
		if (cfg->nclients == POOLD_MAX_IDS) {
			snprintf(p->reason, sizeof(p->reason),
				 "more than %d [client] sections",
				 POOLD_MAX_IDS);
			return 0;
		}
		cc = &cfg->clients[cfg->nclients++];
		memset(cc, 0, sizeof(*cc));
		memcpy(cc->id, id, strlen(id) + 1);
	}
	if (!strcmp(name, "key_file")) {
		k = (struct poold_key){ .type = KEY_STRING,
					.size = sizeof(cc->key_file) };
		seen = &p->client_seen[cc - cfg->clients][0];
	} else if (!strcmp(name, "quota")) {
		k = (struct poold_key){ .type = KEY_SIZE,
					.max = (uint64_t)RMEM_FRAME_SIZE << 32 };
		seen = &p->client_seen[cc - cfg->clients][1];
	} else {
		snprintf(p->reason, sizeof(p->reason),
			 "unknown key '%s' in [%s] (expected key_file or quota)",
			 name, section);
		return 0;
	}
	if (*seen) {
		snprintf(p->reason, sizeof(p->reason), "[%s] %s is set twice",
			 section, name);
		return 0;
	}
	*seen = true;
	/* poold_set() writes at cfg + offset: aim it at this section */
	sub = *p;
	sub.cfg = (struct poold_config *)(name[0] == 'k' ?
		  (void *)cc->key_file : (void *)&cc->quota);
	sub.reason[0] = '\0';
	if (poold_set(&sub, &k, value)) {
		memcpy(p->reason, sub.reason, sizeof(p->reason));
		snprintf(p->where, sizeof(p->where), "[%s] %s: ", section,
			 name);
		return 0;
	}
	return 1;
}

/* inih handler: 1 to go on, 0 to stop with the reason in p->reason. */
static int poold_handler(void *user, const char *section, const char *name,
			 const char *value)
{
	struct poold_parse *p = user;
	bool section_known = false;
	size_t i;

	if (!strncmp(section, "client", 6) &&
	    (section[6] == ' ' || section[6] == '\t' || !section[6])) {
		const char *id = section + 6;

		while (*id == ' ' || *id == '\t')
			id++;
		if (!*id) {
			snprintf(p->reason, sizeof(p->reason),
				 "[client] needs a key id: [client NAME]");
			return 0;
		}
		return poold_client_key(p, section, id, name, value);
	}

	for (i = 0; i < POOLD_NKEYS; i++) {
		const struct poold_key *k = &poold_keys[i];

		if (strcmp(section, k->section))
			continue;
		section_known = true;
		if (strcmp(name, k->name))
			continue;
		if (p->seen[i]) {
			snprintf(p->reason, sizeof(p->reason),
				 "[%s] %s is set twice", section, name);
			return 0;
		}
		p->seen[i] = true;
		if (poold_set(p, k, value)) {
			snprintf(p->where, sizeof(p->where), "[%s] %s: ",
				 section, name);
			return 0;
		}
		return 1;
	}
	if (!*section)
		snprintf(p->reason, sizeof(p->reason),
			 "'%s' is outside any section ([server], [pool], [auth], [client NAME], [log])",
			 name);
	else if (!section_known)
		snprintf(p->reason, sizeof(p->reason),
			 "unknown section [%s] (expected [server], [pool], [auth], [client NAME] or [log])",
			 section);
	else
		snprintf(p->reason, sizeof(p->reason),
			 "unknown key '%s' in [%s]", name, section);
	return 0;
}

static int poold_finish(struct poold_parse *p, const char *name, int line,
			char *err, size_t errlen)
{
	struct poold_config *cfg = p->cfg;
	size_t i;

	if (line < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -errno;
	}
	if (line > 0) {
		snprintf(err, errlen, "%s:%d: %s%s", name, line, p->where,
			 p->reason[0] ? p->reason :
			 "syntax error (expected '[section]', 'key = value' or a comment)");
		return -EINVAL;
	}
	for (i = 0; i < POOLD_NKEYS; i++) {
		if (poold_keys[i].required && !p->seen[i]) {
			snprintf(err, errlen, "%s: missing [%s] %s", name,
				 poold_keys[i].section, poold_keys[i].name);
			return -EINVAL;
		}
	}
	if (!cfg->key_file[0] && !cfg->nclients) {
		snprintf(err, errlen,
			 "%s: missing [auth] key_file (or a [client NAME] section)",
			 name);
		return -EINVAL;
	}
	for (i = 0; i < cfg->nclients; i++) {
		struct poold_client_conf *cc = &cfg->clients[i];

		if (!cc->key_file[0]) {
			snprintf(err, errlen, "%s: missing [client %s] key_file",
				 name, cc->id);
			return -EINVAL;
		}
		if (cc->quota > cfg->pool_size) {
			snprintf(err, errlen,
				 "%s: [client %s] quota (%llu bytes) is larger than [pool] size (%llu bytes)",
				 name, cc->id, (unsigned long long)cc->quota,
				 (unsigned long long)cfg->pool_size);
			return -EINVAL;
		}
		if (!cc->quota)
			cc->quota = cfg->pool_size;
	}
	if (cfg->quota > cfg->pool_size) {
		snprintf(err, errlen,
			 "%s: [auth] quota (%llu bytes) is larger than [pool] size (%llu bytes)",
			 name, (unsigned long long)cfg->quota,
			 (unsigned long long)cfg->pool_size);
		return -EINVAL;
	}
	if (cfg->hugepages != POOLD_HUGE_NO && cfg->pool_size % (2u << 20)) {
		snprintf(err, errlen,
			 "%s: [pool] size must be a multiple of 2M with hugepages",
			 name);
		return -EINVAL;
	}
	if (!cfg->quota)
		cfg->quota = cfg->pool_size;
	return 0;
}

static void poold_ini_setup(void)
{
	/* A value on an indented line must not silently join the one above. */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_inline_comment_prefixes = ";#";
	ini_use_stack = false;
	ini_max_line = 4096 + 3;
}

int poold_config_load(const char *path, struct poold_config *cfg,
		      char *err, size_t errlen)
{
	struct poold_parse p = { .cfg = cfg };
	int line;

	poold_config_defaults(cfg);
	poold_ini_setup();
	errno = 0;
	line = ini_parse(path, poold_handler, &p);
	if (line < 0 && !errno)
		errno = ENOMEM;
	return poold_finish(&p, path, line, err, errlen);
}

int poold_config_parse_string(const char *name, const char *text,
			      struct poold_config *cfg,
			      char *err, size_t errlen)
{
	struct poold_parse p = { .cfg = cfg };
	int line;

	poold_config_defaults(cfg);
	poold_ini_setup();
	errno = ENOMEM;
	line = ini_parse_string(text, poold_handler, &p);
	return poold_finish(&p, name, line, err, errlen);
}

void poold_config_restart_keys(const struct poold_config *old,
			       const struct poold_config *new,
			       char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < POOLD_NKEYS; i++) {
		const struct poold_key *k = &poold_keys[i];
		const char *a = (const char *)old + k->offset;
		const char *b = (const char *)new + k->offset;

		if (k->reload || !memcmp(a, b, k->size))
			continue;
		if (k->type == KEY_STRING && !strcmp(a, b))
			continue;
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0,
					"%s[%s] %s", off ? ", " : "",
					k->section, k->name);
	}
}

int poold_config_abspath(char *path, size_t size, const char *dir,
			 char *err, size_t errlen)
{
	char abs[PATH_MAX];
	int n;

	if (path[0] == '/' || !path[0])
		return 0;
	if (!dir) {
		snprintf(err, errlen,
			 "%s: a relative path, and the working directory to resolve it in is gone (getcwd failed): give an absolute one",
			 path);
		return -ENOENT;
	}
	n = snprintf(abs, sizeof(abs), "%s/%s", dir, path);
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, errlen, "%s/%s: path too long", dir, path);
		return -ENAMETOOLONG;
	}
	memcpy(path, abs, (size_t)n + 1);
	return 0;
}

int poold_key_files(const char *list,
		    int (*fn)(void *arg, const char *path, char *err,
			      size_t errlen),
		    void *arg, char *err, size_t errlen)
{
	const char *c = list;
	unsigned int n = 0;
	char path[PATH_MAX];
	int ret;

	for (;;) {
		const char *end = strchr(c, ','), *a = c, *b;
		size_t len;

		if (!end)
			end = c + strlen(c);
		b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		len = (size_t)(b - a);
		if (!len) {
			snprintf(err, errlen, "'%s': an empty key file name",
				 list);
			return -EINVAL;
		}
		if (++n > POOLD_MAX_KEYS) {
			snprintf(err, errlen, "'%s': more than %d key files",
				 list, POOLD_MAX_KEYS);
			return -EINVAL;
		}
		if (len >= sizeof(path)) {
			snprintf(err, errlen, "'%.*s...': path too long", 64, a);
			return -ENAMETOOLONG;
		}
		memcpy(path, a, len);
		path[len] = '\0';
		ret = fn(arg, path, err, errlen);
		if (ret)
			return ret;
		if (!*end)
			return 0;
		c = end + 1;
	}
}

struct keyring_ctx {
	struct poold_keyring *kr;	/* ident is its last, being loaded */
	struct poold_ident *ident;
	const char *dir;
};

/*
 * One key, one name: the MAC proves a key, not a name, so a key under two
 * names (or twice under one) would let its holder pick either name's
 * quota and regions. The identity that already has fp, or NULL.
 */
static const struct poold_ident *keyring_owner(const struct keyring_ctx *k,
					       const uint8_t *fp)
{
	const struct poold_ident *id;
	unsigned int i;

	for (id = k->kr->ids; id <= k->ident; id++)
		for (i = 0; i < id->nkeys; i++)
			if (!memcmp(id->fp[i], fp, RMEM_MAC_SIZE))
				return id;
	return NULL;
}

/*
 * The key as HMAC-SHA256 uses it: a key longer than the hash's 64-byte
 * block is hashed first, and any key is padded with zeros to the block
 * (RFC 2104). Doing that here gives the same MACs, makes every key's MAC
 * cost the same as the decoy's (server.c, auth_find), and makes keys
 * HMAC cannot tell apart (K and K with NULs after it) one fingerprint,
 * so that keyring_owner() sees them as the one key they are.
 */
static void keyring_normalize(struct rmem_key *key)
{
	uint8_t h[RMEM_MAC_SIZE];
	unsigned int md = sizeof(h);

	if (key->len > POOLD_KEY_BLOCK) {
		EVP_Digest(key->bytes, key->len, h, &md, EVP_sha256(), NULL);
		explicit_bzero(key->bytes, key->len);
		memcpy(key->bytes, h, md);
		explicit_bzero(h, sizeof(h));
		key->len = md;
	}
	memset(key->bytes + key->len, 0, POOLD_KEY_BLOCK - key->len);
	key->len = POOLD_KEY_BLOCK;
}

static int keyring_add(void *arg, const char *name, char *err, size_t errlen)
{
	struct keyring_ctx *k = arg;
	struct poold_ident *id = k->ident;
	char path[PATH_MAX];
	unsigned int md = RMEM_MAC_SIZE;
	int ret;

	snprintf(path, sizeof(path), "%s", name);
	ret = poold_config_abspath(path, sizeof(path), k->dir, err, errlen);
	if (ret)
		return ret;
	ret = rmem_key_load(path, &id->keys[id->nkeys], err, errlen);
	if (ret)
		return ret;
	keyring_normalize(&id->keys[id->nkeys]);
	EVP_Digest(id->keys[id->nkeys].bytes, id->keys[id->nkeys].len,
		   id->fp[id->nkeys], &md, EVP_sha256(), NULL);
	{
		const struct poold_ident *other =
			keyring_owner(k, id->fp[id->nkeys]);

		if (other) {
			snprintf(err, errlen,
				 other == id ? "key file %s: the same key is listed twice" :
				 "key file %s: the same key as one of %s%s%s's: a key may belong to one name only",
				 path, other->id[0] ? "[client " : "[auth]",
				 other->id, other->id[0] ? "]" : "");
			explicit_bzero(&id->keys[id->nkeys],
				       sizeof(id->keys[id->nkeys]));
			return -EINVAL;
		}
	}
	id->nkeys++;
	return 0;
}

static int keyring_ident(struct poold_keyring *kr, const char *id,
			 const char *files, uint64_t quota, const char *dir,
			 char *err, size_t errlen)
{
	struct poold_ident *ident = &kr->ids[kr->n++];
	struct keyring_ctx k = { .kr = kr, .ident = ident, .dir = dir };
	char why[768];
	int ret;

	memset(ident, 0, sizeof(*ident));
	snprintf(ident->id, sizeof(ident->id), "%s", id);
	ident->quota_frames = quota / RMEM_FRAME_SIZE;
	if (!files[0])
		return 0;
	ret = poold_key_files(files, keyring_add, &k, why, sizeof(why));
	if (ret)
		snprintf(err, errlen, "%s%s%s key_file: %s", id[0] ? "[client " : "[auth]",
			 id, id[0] ? "]" : "", why);
	return ret;
}

int poold_keyring_load(const struct poold_config *cfg, const char *dir,
		       struct poold_keyring *kr, char *err, size_t errlen)
{
	unsigned int i;
	int ret;

	kr->n = 0;
	ret = keyring_ident(kr, "", cfg->key_file, cfg->quota, dir, err,
			    errlen);
	for (i = 0; !ret && i < cfg->nclients; i++)
		ret = keyring_ident(kr, cfg->clients[i].id,
				    cfg->clients[i].key_file,
				    cfg->clients[i].quota, dir, err, errlen);
	if (ret)
		poold_keyring_clear(kr);
	return ret;
}

const struct poold_ident *poold_keyring_find(const struct poold_keyring *kr,
					     const char *id)
{
	const struct poold_ident *found = NULL;
	unsigned int i;

	/* every name, no early exit: AUTH looks names up, and its time
	 * must not say where in the file one is (or whether it is there) */
	for (i = 0; i < kr->n; i++)
		if (!strcmp(kr->ids[i].id, id) && kr->ids[i].nkeys)
			found = &kr->ids[i];
	return found;
}

bool poold_keyring_holds(const struct poold_keyring *kr, const char *id,
			 const uint8_t *fp)
{
	const struct poold_ident *ident = poold_keyring_find(kr, id);
	unsigned int i;

	for (i = 0; ident && i < ident->nkeys; i++)
		if (!memcmp(ident->fp[i], fp, RMEM_MAC_SIZE))
			return true;
	return false;
}

void poold_keyring_clear(struct poold_keyring *kr)
{
	explicit_bzero(kr, sizeof(*kr));
}
