/* Origin sequence reservation file: a fixed 32-byte record (magic, version, node id,
 * reserved high-water mark, CRC32C), replaced atomically (tmp + fsync + rename + dir fsync).
 * Version 1 files (the same record with a CRC-32) are still read, so an upgraded node keeps
 * its reservation; the next write makes them version 2. */
#include "dp_seqstate.h"
#include "rumor_be.h"
#include "rumor_crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REC_LEN 32
#define REC_VERSION 2u
#define REC_VERSION_CRC32 1u /* before the one CRC32C: read only */
#define TMP_FILE DP_SEQSTATE_FILE ".tmp"
static const char magic[8] = {'R', 'U', 'M', 'O', 'R', 'S', 'E', 'Q'};

static uint32_t crc32_ieee_v1(const uint8_t *p, size_t len)
{
	/* version 1 files only; bitwise: it runs once, at an upgrade */
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return ~c;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void dp_seqstate_none(struct dp_seqstate *s)
{
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	s->reserved = UINT64_MAX;
}

/* Write @reserved durably; the caller publishes it (no persist runs beside another). */
static int persist_file(struct dp_seqstate *s, uint64_t reserved)
{
	uint8_t rec[REC_LEN];
	ssize_t w;
	int fd, rc = 0;

	memset(rec, 0, sizeof(rec));
	memcpy(rec, magic, sizeof(magic));
	rumor_le_st32(rec + 8, REC_VERSION);
	rumor_le_st16(rec + 12, s->node);
	rumor_le_st64(rec + 16, reserved);
	rumor_le_st32(rec + 24, rumor_crc32c(0, rec, 24));
	fd = openat(s->dirfd, TMP_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	w = write(fd, rec, sizeof(rec));
	if (w != (ssize_t)sizeof(rec))
		rc = w < 0 ? -errno : -EIO;
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(s->dirfd, TMP_FILE, s->dirfd, DP_SEQSTATE_FILE) != 0)
		rc = -errno;
	/* the rename is durable only once the directory is */
	if (rc == 0 && fsync(s->dirfd) != 0)
		rc = -errno;
	return rc;
}

static int persist(struct dp_seqstate *s, uint64_t reserved)
{
	int rc = persist_file(s, reserved);

	if (rc != 0)
		return rc;
	__atomic_store_n(&s->reserved, reserved, __ATOMIC_RELEASE);
	s->persists++;
	return 0;
}

static void *ahead_main(void *arg)
{
	struct dp_seqstate *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		uint64_t v = s->want;

		if (v <= s->reserved) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		s->busy = true;
		pthread_mutex_unlock(&s->mu);
		int rc = persist_file(s, v);
		pthread_mutex_lock(&s->mu);
		if (rc == 0) {
			__atomic_store_n(&s->reserved, v, __ATOMIC_RELEASE);
			s->persists++;
		} else {
			s->ahead_err = rc;
			s->want = s->reserved; /* the stamping side persists inline when it gets there */
		}
		s->busy = false;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int dp_seqstate_start_ahead(struct dp_seqstate *s)
{
	int rc;

	if (s->dirfd < 0 || s->ahead)
		return 0;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->busy = s->stop = false;
	s->want = s->asked = s->reserved;
	s->ahead_err = 0;
	if ((rc = pthread_create(&s->thr, NULL, ahead_main, s)) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		return -rc;
	}
	s->ahead = true;
	return 0;
}

static void stop_ahead(struct dp_seqstate *s)
{
	if (!s->ahead)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thr, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	s->ahead = false;
}

/* Read the old reservation: 0 when the file does not exist. */
static int load(struct dp_seqstate *s, const char *dir, uint64_t *out, char *err, size_t errlen)
{
	uint8_t rec[REC_LEN + 1];
	ssize_t r;
	int fd;

	fd = openat(s->dirfd, DP_SEQSTATE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*out = 0;
			return 0;
		}
		seterr(err, errlen, "%s/%s: %s", dir, DP_SEQSTATE_FILE, strerror(errno));
		return -errno;
	}
	r = read(fd, rec, sizeof(rec));
	close(fd);
	if (r < 0) {
		seterr(err, errlen, "%s/%s: %s", dir, DP_SEQSTATE_FILE, strerror(errno));
		return -EIO;
	}
	uint32_t version = r == REC_LEN ? rumor_le_ld32(rec + 8) : 0;
	uint32_t crc = version == REC_VERSION_CRC32 ? crc32_ieee_v1(rec, 24) :
						      rumor_crc32c(0, rec, 24);
	if (r != REC_LEN || memcmp(rec, magic, sizeof(magic)) != 0 || rumor_le_ld32(rec + 24) != crc) {
		seterr(err, errlen,
		       "%s/%s is corrupt (%zd bytes, bad magic or checksum): refusing to start, "
		       "origin sequences could be reused",
		       dir, DP_SEQSTATE_FILE, r);
		return -EBADMSG;
	}
	if (version != REC_VERSION && version != REC_VERSION_CRC32) {
		seterr(err, errlen, "%s/%s: unknown version %u", dir, DP_SEQSTATE_FILE,
		       (unsigned)rumor_le_ld32(rec + 8));
		return -EBADMSG;
	}
	if (rumor_le_ld16(rec + 12) != s->node) {
		seterr(err, errlen, "%s/%s belongs to node %u, not node %u", dir,
		       DP_SEQSTATE_FILE, (unsigned)rumor_le_ld16(rec + 12), s->node);
		return -EBADMSG;
	}
	*out = rumor_le_ld64(rec + 16);
	return 0;
}

int dp_seqstate_open(struct dp_seqstate *s, const char *dir, uint16_t node, uint64_t block,
		     uint64_t *start, char *err, size_t errlen)
{
	uint64_t old = 0;
	int rc;

	dp_seqstate_none(s);
	if (dir == NULL || start == NULL || node == 0) {
		seterr(err, errlen, "bad arguments");
		return -EINVAL;
	}
	s->node = node;
	s->block = block ? block : DP_SEQSTATE_BLOCK;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		rc = -errno;
		seterr(err, errlen, "state dir %s: %s", dir, strerror(errno));
		dp_seqstate_none(s);
		return rc;
	}
	rc = load(s, dir, &old, err, errlen);
	if (rc == 0 && old > UINT64_MAX - s->block) {
		seterr(err, errlen, "%s/%s: reservation %llu would wrap", dir, DP_SEQSTATE_FILE,
		       (unsigned long long)old);
		rc = -EOVERFLOW;
	}
	if (rc == 0) {
		rc = persist(s, old + s->block);
		if (rc != 0)
			seterr(err, errlen, "%s/%s: cannot persist: %s", dir, DP_SEQSTATE_FILE,
			       strerror(-rc));
	}
	if (rc != 0) {
		dp_seqstate_close(s);
		return rc;
	}
	*start = old;
	return 0;
}

int dp_seqstate_reserve(struct dp_seqstate *s, uint64_t upto)
{
	uint64_t r = __atomic_load_n(&s->reserved, __ATOMIC_ACQUIRE);
	int rc;

	if (upto <= r) {
		/* the last half of the reservation: the thread makes the next block now */
		if (s->ahead && upto > r - s->block / 2 && s->asked < r + s->block &&
		    r <= UINT64_MAX - s->block) {
			s->asked = r + s->block;
			pthread_mutex_lock(&s->mu);
			if (s->want < s->asked)
				s->want = s->asked;
			pthread_cond_signal(&s->cv);
			pthread_mutex_unlock(&s->mu);
		}
		return 0;
	}
	if (s->dirfd < 0)
		return -EBADF;
	if (upto / s->block >= UINT64_MAX / s->block)
		return -EOVERFLOW;
	s->waits++;
	if (!s->ahead)
		return persist(s, (upto / s->block + 1) * s->block);
	/* outran the thread: wait for its persist in flight, then do what is still missing */
	pthread_mutex_lock(&s->mu);
	while (s->busy)
		pthread_cond_wait(&s->cv, &s->mu);
	rc = upto <= s->reserved ? 0 : persist(s, (upto / s->block + 1) * s->block);
	if (rc == 0 && s->want < s->reserved)
		s->want = s->reserved;
	pthread_mutex_unlock(&s->mu);
	s->asked = __atomic_load_n(&s->reserved, __ATOMIC_ACQUIRE);
	return rc;
}

int dp_seqstate_checkpoint(struct dp_seqstate *s, uint64_t last)
{
	if (s->dirfd < 0)
		return -EBADF;
	stop_ahead(s); /* no persist of a higher value may land after the lower one */
	if (last >= s->reserved)
		return 0;
	return persist(s, last);
}

void dp_seqstate_close(struct dp_seqstate *s)
{
	stop_ahead(s);
	if (s->dirfd >= 0)
		close(s->dirfd);
	dp_seqstate_none(s);
}
