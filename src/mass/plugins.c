/* plugins: the MASS index table and plugin loader. See plugins.h. */
#include "plugins.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/layout.h"
#include "core/log.h"
#include "host.h"
#include "host_services.h"
#include "mass_proto.h"
#include "owner.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/local/lib/mass"
#endif

#define PLUGINS_NAME_MAX 64

/* Most octets a plugin file may have: the private copy is held in memory. */
#define PLUGINS_FILE_MAX ((off_t)64 << 20)

/* Descriptor octets an ABI 1.0 plugin has: up to and including fini. */
#define PLUGINS_DESC_MIN (offsetof(struct mass_plugin, fini) + sizeof(void (*)(void *)))
#define PLUGINS_IDENTITY_SIZE (offsetof(struct mass_plugin, size) + sizeof(uint32_t))
/* Index entry octets of ABI 1.0 and 1.1: up to and including handler. */
#define PLUGINS_ENTRY_MIN (offsetof(struct mass_index, handler) + sizeof(mass_handler_fn *))

/* True when a descriptor of minor >= 2 is large enough to hold `field`
 * (ABI 1.2 fields are read only then: an older plugin's are not there). */
#define PLUGINS_DESC_HAS(d, field) \
	((d)->abi_minor >= 2 && \
	 (d)->size >= offsetof(struct mass_plugin, field) + sizeof((d)->field))
#define PLUGINS_ENTRY_HAS(d, field) \
	((d)->abi_minor >= 2 && \
	 (d)->index_size >= offsetof(struct mass_index, field) + sizeof(((struct mass_index *)0)->field))

struct plugins_module {
	char *name;
	char *path;                        /* as the ini names it, for messages */
	void *handle;                      /* NULL: failed a check */
	int copy;                          /* the private copy handle maps; -1: none */
	const struct mass_plugin *desc;
	const struct plugins_section *section;
	void *state;
	bool inited;
	unsigned served;                   /* indexes of the table given to it */
	struct host_owner *owner;          /* this load's registrations (ABI 1.1) */
	char *error;                       /* why it failed, for plugin_info */
};

struct plugins_slot {
	const struct mass_index *entry;    /* NULL: unserved */
	struct plugins_module *module;     /* NULL: the core */
	unsigned line;                     /* [indexes] line that enabled it */
};

struct plugins {
	struct plugins_slot slots[256];
	struct plugins_module *modules;
	size_t nmodules;
	char **errors;
	size_t nerrors;
	bool oom;
	bool lax;                          /* [plugins] strict = off (loading only) */
	const char *file;                  /* for messages while loading only */
	const char *dir;                   /* likewise: [plugins] dir or PKGLIBDIR */
};

static int plugins_core_indexes(void *state, const struct mass_request *req,
				struct mass_reply *reply);

/* The core's own indexes: always served, whatever mass.ini says. */
static const struct mass_index plugins_core[] = {
	{ .index = 0x00, .signature = "", .usage = "supported indexes",
	  .handler = plugins_core_indexes, .reply_layout = "indexes:[index:u8]" },
};

static const char *plugins_name_or(const struct plugins_module *m)
{
	return m != NULL ? m->name : "core";
}

static void plugins_report(struct plugins *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Logs one problem and keeps it in the set. */
static void plugins_report(struct plugins *p, const char *fmt, ...)
{
	char msg[512];
	char **grown;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	grown = realloc(p->errors, (p->nerrors + 1) * sizeof(*grown));
	if (grown == NULL) {
		p->oom = true;
		return;
	}
	p->errors = grown;
	p->errors[p->nerrors] = strdup(msg);
	if (p->errors[p->nerrors] == NULL)
		p->oom = true;
	else
		p->nerrors++;
}

/* Unloads the module's object and closes its private copy (which stays open
 * as long as the object: its fd number is part of the object's name). */
static void plugins_module_unload(struct plugins_module *m)
{
	if (m->handle != NULL)
		dlclose(m->handle);
	m->handle = NULL;
	if (m->copy >= 0)
		close(m->copy);
	m->copy = -1;
}

static void plugins_module_fail(struct plugins *p, struct plugins_module *m,
				const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports "plugin NAME (PATH): reason" and unloads the module. */
static void plugins_module_fail(struct plugins *p, struct plugins_module *m,
				const char *fmt, ...)
{
	char reason[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	plugins_report(p, "plugin %s (%s): %s", m->name, m->path, reason);
	if (m->error == NULL)
		m->error = strdup(reason);
	plugins_module_unload(m);
	m->desc = NULL;
}

static const struct plugins_section *plugins_section(const struct plugins_spec *spec,
						     const char *name)
{
	size_t i;

	for (i = 0; i < spec->nsections; i++)
		if (strcmp(spec->sections[i].name, name) == 0)
			return &spec->sections[i];
	return NULL;
}

static const char *plugins_section_get(const struct plugins_section *s, const char *key)
{
	size_t i;

	for (i = 0; s != NULL && i < s->count; i++)
		if (strcmp(s->items[i].key, key) == 0)
			return s->items[i].value;
	return NULL;
}

/* A plugin name becomes a file name: keep it to a safe alphabet. */
static bool plugins_valid_name(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '.' || strlen(name) > PLUGINS_NAME_MAX)
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= 'A' && name[i] <= 'Z')
		    && !(name[i] >= '0' && name[i] <= '9') && name[i] != '_'
		    && name[i] != '-' && name[i] != '.')
			return false;
	return true;
}

static struct plugins_module *plugins_module_find(struct plugins *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nmodules; i++)
		if (strcmp(p->modules[i].name, name) == 0)
			return &p->modules[i];
	return NULL;
}

/* Adds module `name` (not yet opened) with its path; NULL on OOM. */
static struct plugins_module *plugins_module_add(struct plugins *p,
						 const struct plugins_spec *spec,
						 const char *name)
{
	const char *dir = spec->dir != NULL && spec->dir[0] != '\0' ? spec->dir : PKGLIBDIR;
	const struct plugins_section *section = plugins_section(spec, name);
	const char *module = plugins_section_get(section, "module");
	struct plugins_module *m;
	size_t len;

	m = &p->modules[p->nmodules];
	memset(m, 0, sizeof(*m));
	m->copy = -1;
	m->section = section;
	m->name = strdup(name);
	if (module != NULL) {
		m->path = strdup(module);
	} else {
		len = strlen(dir) + strlen(name) + 5;
		m->path = malloc(len);
		if (m->path != NULL)
			snprintf(m->path, len, "%s/%s.so", dir, name);
	}
	if (m->name == NULL || m->path == NULL) {
		free(m->name);
		free(m->path);
		p->oom = true;
		return NULL;
	}
	p->nmodules++;
	return m;
}

static const char *plugins_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * The private copy. A module is never dlopen()ed from the file the ini
 * names: that file is copied into an unlinked file of our own and the copy
 * is loaded through /proc/self/fd/N. So a plugin replaced by rename or
 * `install` serves its new code at the next load (glibc would hand back the
 * already-loaded object for the same path, or the same inode), and one
 * overwritten in place (`cp new.so loaded.so`, same inode) can neither
 * change nor tear the pages a running set executes. The copy stays open as
 * long as the object: its fd number names the object, and no two loaded
 * objects may share a name.
 */

/* An unlinked, writable file of our own: a memfd where the kernel has them,
 * else an O_TMPFILE or a mkstemp()ed-then-unlinked file under $TMPDIR or
 * /tmp. Returns the descriptor (close-on-exec), or -1 with errno set. */
static int plugins_private_file(const char *label)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	int fd;

#ifdef MFD_CLOEXEC
	fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 || (errno != ENOSYS && errno != EINVAL && errno != EPERM))
		return fd;
#else
	(void)label;
#endif
	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
	if (fd >= 0)
		return fd;
#endif
	if (snprintf(tmpl, sizeof(tmpl), "%s/mass-plugin-XXXXXX", dir) >= (int)sizeof(tmpl)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

/* Copies all of src into dst (both at offset 0), at most PLUGINS_FILE_MAX
 * octets. Returns the size copied, or -1 with *why set. */
static off_t plugins_copy_bytes(int src, int dst, const char **why)
{
	char buf[16384];
	off_t total = 0;
	ssize_t n, w, done;

	for (;;) {
		n = read(src, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			return -1;
		}
		if (n == 0)
			return total;
		if (total + n > PLUGINS_FILE_MAX) {
			*why = "larger than the 64 MiB a plugin may be";
			return -1;
		}
		for (done = 0; done < n; done += w) {
			w = write(dst, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0) {
				*why = strerror(errno);
				return -1;
			}
		}
		total += n;
	}
}

/* Checks that the copy (size octets) is a whole ELF object of the host's
 * class: a file caught half-written would otherwise map segments past its
 * end, and the first touch of them is a SIGBUS. NULL, or why not. */
static const char *plugins_check_elf(int fd, off_t size)
{
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph;
	unsigned i;
	off_t at;

	memset(&eh, 0, sizeof(eh));
	if (pread(fd, &eh, sizeof(eh), 0) < (ssize_t)SELFMAG
	    || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return "not an ELF shared object";
	if (size < (off_t)sizeof(eh))
		return "truncated ELF object (no whole header)";
	if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32))
		return "not an ELF object of this machine's word size";
	if (eh.e_type != ET_DYN)
		return "an ELF object, but not a shared object";
	if (eh.e_phentsize != sizeof(ph) || eh.e_phoff == 0
	    || eh.e_phoff > (ElfW(Off))size
	    || eh.e_phnum > ((ElfW(Off))size - eh.e_phoff) / sizeof(ph))
		return "truncated ELF object (program headers past the end)";
	for (i = 0; i < eh.e_phnum; i++) {
		at = (off_t)(eh.e_phoff + i * sizeof(ph));
		if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph))
			return "unreadable ELF program header";
		if (ph.p_type == PT_LOAD
		    && (ph.p_offset > (ElfW(Off))size || ph.p_filesz > (ElfW(Off))size - ph.p_offset))
			return "truncated ELF object (a segment past the end)";
	}
	return NULL;
}

/*
 * Whether someone other than root or us could have written the module (st:
 * the file as opened) or replaced it (its directory): writable by group or
 * others, or owned by another user. Returns NULL, or the reason (in buf),
 * naming the file or directory and its mode.
 */
static const char *plugins_untrusted(const char *path, const struct stat *st, char *buf,
				     size_t buflen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash != NULL && slash != path ? (size_t)(slash - path) : 1;
	struct stat ds;
	const struct stat *what[2] = { st, &ds };

	if (dlen >= sizeof(dir))
		dlen = sizeof(dir) - 1;
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	if (stat(dir, &ds) < 0) {
		snprintf(buf, buflen, "its directory %.200s: %s", dir, strerror(errno));
		return buf;
	}
	for (int i = 0; i < 2; i++) {
		const char *label = i == 0 ? "" : "its directory ", *name = i == 0 ? path : dir;
		unsigned mode = (unsigned)(what[i]->st_mode & 07777);

		if (what[i]->st_mode & (S_IWGRP | S_IWOTH)) {
			snprintf(buf, buflen, "%s%.160s is writable by %s (mode %04o)", label, name,
				 (what[i]->st_mode & S_IWOTH) ? "others" : "its group", mode);
			return buf;
		}
		if (what[i]->st_uid != 0 && what[i]->st_uid != geteuid()) {
			snprintf(buf, buflen, "%s%.160s is owned by uid %u, neither root nor the "
				 "running user (mode %04o)", label, name,
				 (unsigned)what[i]->st_uid, mode);
			return buf;
		}
	}
	return NULL;
}

/*
 * Makes the private copy of path: a regular file, bounded, a whole ELF
 * object, that only root or we could have written (plugins_untrusted();
 * with lax a warning instead of a refusal). Returns its descriptor, or -1
 * with *why set (possibly to buf).
 */
static int plugins_copy(const char *path, bool lax, char *buf, size_t buflen,
			const char **why)
{
	const char *untrusted;

	char label[80];
	struct stat st;
	off_t size;
	int src, dst = -1;

	/* O_NONBLOCK: a FIFO named by mistake must not hang the loop */
	src = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (src < 0) {
		*why = errno == ENOENT ? "no such file" : strerror(errno);
		return -1;
	}
	if (fstat(src, &st) < 0) {
		*why = strerror(errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto fail;
	}
	if (st.st_size > PLUGINS_FILE_MAX) {
		*why = "larger than the 64 MiB a plugin may be";
		goto fail;
	}
	/* like sshd's StrictModes: code that runs as us must be ours or root's */
	if ((untrusted = plugins_untrusted(path, &st, buf, buflen)) != NULL) {
		if (!lax) {
			*why = untrusted;
			goto fail;
		}
		log_warn("plugin file %s: loaded although %s ([plugins] strict = off)", path,
			 untrusted);
	}
	/* the memfd's name, seen in /proc/PID/maps: bounded (the kernel takes 249) */
	snprintf(label, sizeof(label), "mass:%s", plugins_basename(path));
	dst = plugins_private_file(label);
	if (dst < 0) {
		*why = strerror(errno);
		goto fail;
	}
	size = plugins_copy_bytes(src, dst, why);
	if (size < 0 || (*why = plugins_check_elf(dst, size)) != NULL)
		goto fail;
#ifdef F_ADD_SEALS
	/* a memfd can be frozen: nobody, not even us, changes it from now on */
	(void)fcntl(dst, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
#endif
	close(src);
	return dst;
fail:
	close(src);
	if (dst >= 0)
		close(dst);
	return -1;
}

/* dlopen()s the copy, by a name no loaded object has: an object that
 * outlived its dlclose() (NODELETE) may still be known as /proc/self/fd/N,
 * and dlopen() would return it for the same name. Moves m->copy to a higher
 * fd until the name is free. Returns the handle, or NULL with why[] set. */
static void *plugins_dlopen_copy(struct plugins_module *m, char *why, size_t whylen)
{
	char name[64];
	const char *msg;
	void *old, *h;
	size_t len;
	int tries, fd;

	for (tries = 0;; tries++) {
		snprintf(name, sizeof(name), "/proc/self/fd/%d", m->copy);
		old = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
		if (old == NULL)
			break;
		dlclose(old);
		fd = tries < 16 ? fcntl(m->copy, F_DUPFD_CLOEXEC, m->copy + 1) : -1;
		if (fd < 0) {
			snprintf(why, whylen, "no free name for the private copy");
			return NULL;
		}
		close(m->copy);
		m->copy = fd;
	}
	dlerror();
	h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (h != NULL)
		return h;
	msg = dlerror();
	msg = msg != NULL ? msg : "dlopen failed";
	/* glibc says "NAME: reason": the caller names the ini's file instead */
	len = strlen(name);
	if (strncmp(msg, name, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
		msg += len + 2;
	if (access(name, R_OK) < 0)
		msg = "/proc is not mounted (the private copy loads through /proc/self/fd)";
	snprintf(why, whylen, "%s", msg);
	return NULL;
}

/* Copies text into dst as printable ASCII ('?' for anything else), bounded;
 * "?" for NULL: a descriptor's strings go to the log. */
static const char *plugins_printable(char *dst, size_t dstlen, const char *text)
{
	size_t i;

	if (text == NULL)
		text = "?";
	for (i = 0; i + 1 < dstlen && text[i] != '\0'; i++)
		dst[i] = text[i] >= 0x20 && text[i] < 0x7F ? text[i] : '?';
	dst[i] = '\0';
	return dst;
}

static mass_serve_fn *plugins_entry_serve(const struct mass_plugin *d, const struct mass_index *e)
{
	return PLUGINS_ENTRY_HAS(d, serve) ? e->serve : NULL;
}

static const char *plugins_entry_layout(const struct mass_plugin *d, const struct mass_index *e)
{
	return d == NULL || PLUGINS_ENTRY_HAS(d, reply_layout) ? e->reply_layout : NULL;
}

/* One entry of the table: exactly one of handler and serve, a valid
 * signature, a valid reply layout when one is given. 0, or -1 (reported). */
static int plugins_check_entry(struct plugins *p, struct plugins_module *m,
			       const struct mass_index *e)
{
	const struct mass_plugin *d = m->desc;
	const char *layout = plugins_entry_layout(d, e);
	char why[160];

	if ((e->handler == NULL) == (plugins_entry_serve(d, e) == NULL)) {
		plugins_module_fail(p, m, "index %02X: %s", e->index, e->handler == NULL ?
				    "no handler" : "sets both handler and serve");
		return -1;
	}
	if (!mass_signature_explain(e->signature, why, sizeof(why))) {
		plugins_module_fail(p, m, "index %02X: %s", e->index, why);
		return -1;
	}
	if (layout != NULL && layout_check(layout, why, sizeof(why)) < 0) {
		plugins_module_fail(p, m, "index %02X: invalid reply layout: %s", e->index, why);
		return -1;
	}
	return 0;
}

/* Checks the descriptor's identity, then its index table. Returns 0 or -1 (reported). */
static int plugins_check_desc(struct plugins *p, struct plugins_module *m, size_t symsize)
{
	const struct mass_plugin *d = m->desc;
	bool seen[256] = { false };
	const struct mass_index *e;
	size_t i;

	if (symsize < PLUGINS_IDENTITY_SIZE || d->magic != MASS_PLUGIN_MAGIC) {
		plugins_module_fail(p, m, "bad magic: %s is not a mass plugin descriptor",
				    MASS_PLUGIN_SYMBOL);
		return -1;
	}
	if (d->abi_major != MASS_ABI_MAJOR || d->abi_minor > MASS_ABI_MINOR) {
		plugins_module_fail(p, m, "%s built for ABI %u.%u, host has %u.%u",
				    plugins_basename(m->path), d->abi_major, d->abi_minor,
				    MASS_ABI_MAJOR, MASS_ABI_MINOR);
		return -1;
	}
	if (d->size < PLUGINS_DESC_MIN || symsize < d->size) {
		plugins_module_fail(p, m, "descriptor of %u octets, ABI %u.%u needs %zu",
				    d->size, d->abi_major, d->abi_minor, PLUGINS_DESC_MIN);
		return -1;
	}
	if (d->nindexes > 0 && (d->indexes == NULL || d->index_size < PLUGINS_ENTRY_MIN
				|| d->nindexes > 256)) {
		plugins_module_fail(p, m, "malformed index table");
		return -1;
	}
	for (i = 0; i < d->nindexes; i++) {
		/* stride by the plugin's entry size: entries only grow at the end */
		e = (const struct mass_index *)((const char *)d->indexes + i * d->index_size);
		if (e->index == 0x00 || e->index == 0xFF) {
			plugins_module_fail(p, m, "claims index %02X, which is %s", e->index,
					    e->index == 0 ? "the core's" : "reserved");
			return -1;
		}
		if (seen[e->index]) {
			plugins_module_fail(p, m, "declares index %02X twice", e->index);
			return -1;
		}
		seen[e->index] = true;
		if (plugins_check_entry(p, m, e) < 0)
			return -1;
	}
	if (PLUGINS_DESC_HAS(d, init_ctx) && d->init_ctx != NULL && d->init != NULL) {
		plugins_module_fail(p, m, "sets both init and init_ctx");
		return -1;
	}
	return 0;
}

/* Opens (from a private copy of its file) and checks one module; on failure
 * it stays with handle NULL. */
static void plugins_module_open(struct plugins *p, struct plugins_module *m)
{
	const ElfW(Sym) *sym = NULL;
	char why[256], version[64], desc_name[64];
	const char *reason;
	Dl_info info;
	void *addr;

	if (!plugins_valid_name(m->name)) {
		plugins_module_fail(p, m, "invalid plugin name");
		return;
	}
	if (m->path[0] != '/') {
		plugins_module_fail(p, m, "module must be an absolute path");
		return;
	}
	m->copy = plugins_copy(m->path, p->lax, why, sizeof(why), &reason);
	if (m->copy < 0) {
		plugins_module_fail(p, m, "%s", reason);
		return;
	}
	m->handle = plugins_dlopen_copy(m, why, sizeof(why));
	if (m->handle == NULL) {
		plugins_module_fail(p, m, "cannot load: %s", why);
		return;
	}
	dlerror();
	addr = dlsym(m->handle, MASS_PLUGIN_SYMBOL);
	if (addr == NULL) {
		plugins_module_fail(p, m, "no symbol %s: not a mass plugin", MASS_PLUGIN_SYMBOL);
		return;
	}
	/* the symbol's size bounds what we may read of it */
	if (dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) == 0 || sym == NULL
	    || info.dli_saddr != addr) {
		plugins_module_fail(p, m, "symbol %s has no size", MASS_PLUGIN_SYMBOL);
		return;
	}
	m->desc = addr;
	if (plugins_check_desc(p, m, (size_t)sym->st_size) < 0)
		return;
	log_info("plugin %s (%s): loaded %s version %s", m->name, m->path,
		 plugins_printable(desc_name, sizeof(desc_name), m->desc->name),
		 plugins_printable(version, sizeof(version), m->desc->version));
	/* mass.ini's name is the one used; a different one is a likely mistake */
	if (m->desc->name == NULL || strcmp(m->desc->name, m->name) != 0)
		log_warn("plugin %s (%s): descriptor names itself %s", m->name, m->path,
			 desc_name);
}

static const struct mass_index *plugins_desc_entry(const struct mass_plugin *d, uint8_t index)
{
	const struct mass_index *e;
	size_t i;

	for (i = 0; i < d->nindexes; i++) {
		e = (const struct mass_index *)((const char *)d->indexes + i * d->index_size);
		if (e->index == index)
			return e;
	}
	return NULL;
}

/* Logs which [indexes] line goes unserved because its plugin failed (`what`).
 * Only logged: the module's own failure is the one error kept in the set. */
static void plugins_unserved(const struct plugins *p, unsigned line, unsigned index,
			     const char *name, const char *what)
{
	log_error("%s:%u: [indexes] %02X = %s: not served, the plugin did not %s",
		  p->file, line, index, name, what);
}

static void plugins_unassign(struct plugins *p, const struct plugins_module *m,
			     const char *what);

/* Gives one [indexes] line its slot, or reports why not. */
static void plugins_assign(struct plugins *p, const struct plugins_index_line *l)
{
	struct plugins_module *m = plugins_module_find(p, l->plugin);
	struct plugins_slot *s;
	const struct mass_index *e;

	if (l->index == 0x00 || l->index >= 0xFF) {
		plugins_report(p, "%s:%u: [indexes] %02X: %s", p->file, l->line, l->index,
			       l->index == 0 ? "index 00 is the core's" :
			       l->index == 0xFF ? "index FF is reserved" : "not an index");
		return;
	}
	if (m == NULL)
		return;  /* out of memory, already noted */
	if (m->handle == NULL) {
		plugins_unserved(p, l->line, l->index, m->name, "load");
		return;
	}
	s = &p->slots[l->index];
	if (s->entry != NULL) {
		plugins_report(p, "%s:%u: [indexes] %02X: already given to plugin %s (line %u)",
			       p->file, l->line, l->index, plugins_name_or(s->module), s->line);
		return;
	}
	e = plugins_desc_entry(m->desc, (uint8_t)l->index);
	if (e == NULL) {
		/* the plugin is refused, as <mass/plugin.h> says: the indexes it
		 * was given before this line are taken back */
		plugins_unassign(p, m, "load");
		plugins_module_fail(p, m, "does not serve index %02X (%s:%u)", l->index,
				    p->file, l->line);
		return;
	}
	s->entry = e;
	s->module = m;
	s->line = l->line;
	m->served++;
}

/* Takes back the indexes of a module that failed (`what`: "load",
 * "initialize"), naming each. */
static void plugins_unassign(struct plugins *p, const struct plugins_module *m,
			     const char *what)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		if (p->slots[i].module == m) {
			plugins_unserved(p, p->slots[i].line, i, m->name, what);
			memset(&p->slots[i], 0, sizeof(p->slots[i]));
		}
}

/* A 1.2 plugin using the context: init_ctx (and fini_ctx) instead of init. */
static bool plugins_is_ctx(const struct mass_plugin *d)
{
	return PLUGINS_DESC_HAS(d, init_ctx) && d->init_ctx != NULL;
}

static bool plugins_has_init(const struct mass_plugin *d)
{
	return plugins_is_ctx(d) || d->init != NULL;
}

/* Calls fini (or fini_ctx) after a successful init, as the load. */
static void plugins_module_fini(struct plugins_module *m)
{
	const struct mass_plugin *d = m->desc;
	struct host_owner *prev = owner_enter(m->owner);

	if (PLUGINS_DESC_HAS(d, fini_ctx) && d->fini_ctx != NULL)
		d->fini_ctx(&m->owner->ctx);
	else if (!plugins_is_ctx(d) && d->fini != NULL)
		d->fini(m->state);
	owner_enter(prev);
}

/* Calls init on a module that passed every check and serves something. */
static void plugins_module_init(struct plugins *p, struct plugins_module *m,
				const struct plugins_spec *spec)
{
	struct mass_config config = {
		.file = p->file,
		.count = m->section != NULL ? m->section->count : 0,
		.items = m->section != NULL ? m->section->items : NULL,
	};
	char why[256] = "";

	(void)spec;
	if (m->handle == NULL)
		return;
	if (m->served == 0) {
		/* nothing enabled from it (already reported): do not keep it */
		plugins_module_unload(m);
		return;
	}
	m->owner = host_owner_new(m->name, p, p->file, p->dir);
	if (m->owner == NULL) {
		p->oom = true;
		return;
	}
	if (plugins_has_init(m->desc)) {
		struct host_owner *prev = owner_enter(m->owner);
		int r = plugins_is_ctx(m->desc) ?
			m->desc->init_ctx(&m->owner->ctx, &config, why, sizeof(why)) :
			m->desc->init(host_services(), &config, &m->state, why, sizeof(why));

		owner_enter(prev);
		/* the plugin may have filled err to the end without a NUL */
		why[sizeof(why) - 1] = '\0';
		if (r < 0) {
			/* what the failed init registered goes with it */
			host_owner_release(m->owner);
			m->owner = NULL;
			plugins_module_fail(p, m, "%s", why[0] ? why : "init failed");
			plugins_unassign(p, m, "initialize");
			return;
		}
	}
	m->inited = true;
}

/* The first problem of p into err; true when there was one. */
static bool plugins_refused(const struct plugins *p, char *err, size_t errlen)
{
	if (p->nerrors == 0)
		return false;
	snprintf(err, errlen, "%s", p->errors[0]);
	return true;
}

struct plugins *plugins_load_spec(const struct plugins_spec *spec, enum plugins_mode mode,
				  char *err, size_t errlen)
{
	struct plugins *p = calloc(1, sizeof(*p));
	size_t i;

	if (p == NULL)
		goto oom;
	p->file = spec->file != NULL ? spec->file : "mass.ini";
	p->dir = spec->dir != NULL && spec->dir[0] != '\0' ? spec->dir : PKGLIBDIR;
	p->lax = spec->lax;
	for (i = 0; i < sizeof(plugins_core) / sizeof(plugins_core[0]); i++)
		p->slots[plugins_core[i].index].entry = &plugins_core[i];
	p->modules = calloc(spec->nindexes + 1, sizeof(*p->modules));
	if (p->modules == NULL)
		goto oom;
	/* pass 1: open and check every plugin named, before any init */
	for (i = 0; i < spec->nindexes && !p->oom; i++) {
		if (plugins_module_find(p, spec->indexes[i].plugin) != NULL)
			continue;
		if (plugins_module_add(p, spec, spec->indexes[i].plugin) != NULL)
			plugins_module_open(p, &p->modules[p->nmodules - 1]);
	}
	for (i = 0; i < spec->nindexes && !p->oom; i++)
		plugins_assign(p, &spec->indexes[i]);
	if (p->oom)
		goto oom;
	/* a refused reload runs no init (and so no fini) of any candidate */
	if (mode == PLUGINS_RELOAD && plugins_refused(p, err, errlen))
		goto refused;
	/* pass 2: init what passed */
	for (i = 0; i < p->nmodules && !p->oom; i++)
		plugins_module_init(p, &p->modules[i], spec);
	if (p->oom)
		goto oom;
	if (mode == PLUGINS_RELOAD && plugins_refused(p, err, errlen))
		goto refused;
	p->file = NULL;
	p->dir = NULL;
	return p;
refused:
	plugins_free(p);
	return NULL;
oom:
	plugins_free(p);
	snprintf(err, errlen, "plugins: out of memory");
	return NULL;
}

void plugins_free(struct plugins *p)
{
	struct plugins_module *m;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nmodules; i++) {
		m = &p->modules[i];
		if (m->inited)
			plugins_module_fini(m);
		/* whatever fini forgot, before the code it would call is unmapped */
		host_owner_release(m->owner);
		plugins_module_unload(m);
		free(m->name);
		free(m->path);
		free(m->error);
	}
	free(p->modules);
	for (i = 0; i < p->nerrors; i++)
		free(p->errors[i]);
	free(p->errors);
	free(p);
}

size_t plugins_error_count(const struct plugins *p)
{
	return p != NULL ? p->nerrors : 0;
}

const char *plugins_error(const struct plugins *p, size_t i)
{
	return p != NULL && i < p->nerrors ? p->errors[i] : NULL;
}

static const struct mass_index *plugins_entry(const struct plugins *p, uint8_t index)
{
	if (p == NULL)
		return index == plugins_core[0].index ? &plugins_core[0] : NULL;
	return p->slots[index].entry;
}

int plugins_served(const struct plugins *p, uint8_t index)
{
	return plugins_entry(p, index) != NULL;
}

const char *plugins_usage(const struct plugins *p, uint8_t index)
{
	const struct mass_index *e = plugins_entry(p, index);

	return e != NULL ? e->usage : NULL;
}

const char *plugins_signature(void *ctx, uint8_t index)
{
	const struct mass_index *e = plugins_entry(ctx, index);

	return e != NULL ? e->signature : NULL;
}

static int plugins_core_indexes(void *state, const struct mass_request *req,
				struct mass_reply *reply)
{
	const struct plugins *p = state;
	long mark = mass_reply_count_begin(reply);
	size_t n = 0;
	unsigned i;

	(void)req;
	for (i = 0; i < 256; i++)
		if (plugins_served(p, (uint8_t)i)) {
			mass_reply_u8(reply, (uint8_t)i);
			n++;
		}
	mass_reply_count_end(reply, mark, n);
	return MASS_STATUS_OK;
}

size_t plugins_serve(struct plugins *p, const struct mass_request_parser *rq,
		     uint8_t *out, size_t cap, struct mass_reply **later)
{
	const struct mass_index *e = plugins_entry(p, rq->req.index);
	const struct plugins_module *m = p != NULL ? p->slots[rq->req.index].module : NULL;
	const char *name = plugins_name_or(m);
	struct host_owner *prev;
	struct mass_reply reply, *deferred;
	int status;

	*later = NULL;
	mass_reply_init(&reply, out, cap);
	if (rq->unsupported || e == NULL || strcmp(e->signature, rq->signature) != 0)
		return mass_reply_finish(&reply, MASS_STATUS_UNSUPPORTED);
	host_defer_arm(name, rq->req.index);
	prev = owner_enter(m != NULL ? m->owner : NULL);
	if (m != NULL && plugins_entry_serve(m->desc, e) != NULL)
		status = e->serve(&m->owner->ctx, &rq->req, &reply);
	else
		status = e->handler(m != NULL ? m->state : p, &rq->req, &reply);
	owner_enter(prev);
	deferred = host_defer_take();
	if (status == MASS_STATUS_PENDING && deferred != NULL) {
		*later = deferred;
		return 0;
	}
	if (deferred != NULL) {
		/* deferred, then answered now after all: the handle goes unused */
		host_defer_detach(deferred);
	}
	return host_reply_seal(name, rq->req.index, &reply, status);
}

int plugins_index_info(const struct plugins *p, uint8_t index, struct mass_index_info *out)
{
	const struct mass_index *e = plugins_entry(p, index);
	const struct plugins_module *m = p != NULL ? p->slots[index].module : NULL;

	if (e == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->index = index;
	out->plugin = plugins_name_or(m);
	out->plugin_version = m != NULL ? m->desc->version : PACKAGE_VERSION;
	out->signature = e->signature;
	out->usage = e->usage != NULL ? e->usage : "";
	out->reply_layout = plugins_entry_layout(m != NULL ? m->desc : NULL, e);
	return 0;
}

size_t plugins_module_count(const struct plugins *p)
{
	return p != NULL ? p->nmodules : 0;
}

int plugins_module_info(const struct plugins *p, size_t i, struct mass_plugin_info *out)
{
	const struct plugins_module *m;

	if (p == NULL || i >= p->nmodules)
		return -1;
	m = &p->modules[i];
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->name = m->name;
	out->path = m->path;
	out->loaded = m->inited || (m->desc != NULL && !plugins_has_init(m->desc) && m->handle != NULL);
	if (m->desc != NULL && m->handle != NULL) {
		out->version = m->desc->version;
		out->description = m->desc->description;
	}
	out->error = m->error;
	return 0;
}
