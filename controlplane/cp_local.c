/* cp_local: the node-local settings file, parsed with libinih; every error names the file,
 * the line and the key. */
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cp_local.h"
#include "cp_metrics.h"

struct ctx {
	const char *path;
	unsigned node;
	struct cp_local *l;
	char *err;
	size_t errlen;
	FILE *f;
	int cur_line;   /* line the reader handed to inih last */
	int line[7];    /* line of tls_cert, tls_key, tls_ca, insecure, api_group, api_admin_group,
			 * metrics_listen */
	bool failed;
};

static const char *const keys[] = { "tls_cert", "tls_key", "tls_ca", "insecure", "api_group",
				    "api_admin_group", "metrics_listen" };

static void fail(struct ctx *c, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct ctx *c, int line, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return;
	c->failed = true;
	if (line > 0)
		n = snprintf(c->err, c->errlen, "%s:%d: %s: ", c->path, line, key);
	else
		n = snprintf(c->err, c->errlen, "%s: ", c->path);
	if (n < 0 || (size_t)n >= c->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Copy @v with "%n" replaced by the node id. */
static int expand(const char *v, unsigned node, char *out, size_t cap)
{
	size_t o = 0;

	for (; *v; v++) {
		int n;
		if (v[0] == '%' && v[1] == 'n') {
			n = snprintf(out + o, cap - o, "%u", node);
			v++;
		} else {
			n = snprintf(out + o, cap - o, "%c", *v);
		}
		if (n < 0 || (size_t)n >= cap - o)
			return -ENAMETOOLONG;
		o += (size_t)n;
	}
	return 0;
}

static int group_id(const char *v, gid_t *out)
{
	char *end;
	unsigned long g = strtoul(v, &end, 10);
	struct group *gr;

	if (*v && !*end) {
		*out = (gid_t)g;
		return 0;
	}
	gr = getgrnam(v); /* start-up only: NSS may block, the loop is not running yet */
	if (!gr)
		return -ENOENT;
	*out = gr->gr_gid;
	return 0;
}

/* inih hands lines of this reader to the handler one at a time: cur_line is the key's line
 * (this inih is built without INI_HANDLER_LINENO). */
static char *reader(char *buf, int size, void *stream)
{
	struct ctx *c = stream;
	char *r = fgets(buf, size, c->f);

	if (r)
		c->cur_line++;
	return r;
}

static int on_key(void *user, const char *sec, const char *key, const char *v)
{
	struct ctx *c = user;
	int line = c->cur_line;
	struct cp_local *l = c->l;
	unsigned k;

	if (c->failed)
		return 0;
	if (*sec && strcmp(sec, "control") != 0) {
		fail(c, line, key, "unknown section [%s] (keys go in [control])", sec);
		return 0;
	}
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (!strcmp(key, keys[k]))
			break;
	if (k == sizeof(keys) / sizeof(keys[0])) {
		fail(c, line, key, "unknown key (want tls_cert, tls_key, tls_ca, insecure, "
		     "api_group, api_admin_group, metrics_listen)");
		return 0;
	}
	if (c->line[k]) {
		fail(c, line, key, "duplicate key (first on line %d)", c->line[k]);
		return 0;
	}
	c->line[k] = line;
	if (k <= 2) {
		char *dst = k == 0 ? l->tls_cert : k == 1 ? l->tls_key : l->tls_ca;
		if (!*v)
			fail(c, line, key, "empty path");
		else if (expand(v, c->node, dst, CP_LOCAL_PATH_MAX) < 0)
			fail(c, line, key, "path too long (most %d bytes)", CP_LOCAL_PATH_MAX - 1);
	} else if (k == 3) {
		if (!strcmp(v, "true"))
			l->insecure = true;
		else if (!strcmp(v, "false"))
			l->insecure = false;
		else
			fail(c, line, key, "want true or false, got '%s'", v);
	} else if (k == 6) {
		struct sockaddr_storage ss;
		unsigned slen;
		char why[160];
		if (cp_metrics_parse_addr(v, &ss, &slen, why, sizeof(why)) < 0)
			fail(c, line, key, "%s", why);
		else if (strlen(v) >= sizeof(l->metrics_listen))
			fail(c, line, key, "too long (most %zu bytes)", sizeof(l->metrics_listen) - 1);
		else {
			strcpy(l->metrics_listen, v);
			l->metrics_line = line;
		}
	} else {
		gid_t g;
		if (group_id(v, &g) < 0) {
			fail(c, line, key, "no such group '%s'", v);
		} else if (k == 4) {
			l->api_group = g;
			l->has_api_group = true;
		} else {
			l->api_admin_group = g;
			l->has_api_admin_group = true;
		}
	}
	return !c->failed;
}

int cp_local_load(const char *path, unsigned node, struct cp_local *out, char *err,
		  size_t errlen)
{
	struct ctx c = { .path = path, .node = node, .l = out, .err = err, .errlen = errlen };
	FILE *f;
	int rc, ntls;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	c.f = f;
	rc = ini_parse_stream(reader, &c, on_key, &c);
	fclose(f);
	if (c.failed)
		return -EINVAL;
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: syntax error (want [control] or key = value)", path, rc);
		return -EINVAL;
	}
	ntls = !!c.line[0] + !!c.line[1] + !!c.line[2];
	if (ntls > 0 && ntls < 3) {
		unsigned have = c.line[0] ? 0 : c.line[1] ? 1 : 2, miss = !c.line[0] ? 0 :
			!c.line[1] ? 1 : 2;
		fail(&c, c.line[have], keys[have], "%s is missing: tls_cert, tls_key and tls_ca go "
		     "together", keys[miss]);
	} else if (ntls == 3 && out->insecure) {
		fail(&c, c.line[3], "insecure", "true, but tls_cert/tls_key/tls_ca are set too "
		     "(line %d): choose one", c.line[0]);
	} else if (ntls == 0 && !out->insecure) {
		fail(&c, c.line[3], "insecure", "%s",
		     c.line[3] ? "false, and no tls_cert/tls_key/tls_ca: control links must be "
				 "TLS (set the three keys) unless insecure = true"
			       : "no tls_cert/tls_key/tls_ca and no insecure = true: refusing to "
				 "start with unauthenticated control links");
	}
	return c.failed ? -EINVAL : 0;
}
