/*
 * plugins: the MASS index table, loaded from mass.ini's [indexes], [plugins]
 * and [plugin NAME] sections (see <mass/plugin.h> for the ABI).
 *
 * A set is built in two passes. First every plugin named in [indexes] is
 * opened and checked: file present, regular, at most 64 MiB, a whole ELF
 * shared object, copied into a private unlinked file (a memfd) that is
 * dlopen()ed (RTLD_NOW|RTLD_LOCAL) through /proc/self/fd, so the file may be
 * replaced or overwritten at any time; symbol mass_plugin present, identity (magic, ABI version, size),
 * every index given to it served by its table, no index given twice, 00 and
 * FF never claimed, signatures valid. Only then is init called on each
 * plugin that passed, with its [plugin NAME] section. Each problem is one
 * message "plugin NAME (PATH): reason", logged and kept in the set; the
 * indexes concerned stay unserved (answered 02) and the rest of the set
 * works.
 *
 * Index 00 is the core's (a static table in plugins.c): it lists the served
 * indexes, ascending, 00 included.
 *
 * How main uses this module:
 *
 *	start:   server.plugins = plugins_load(&server.cfg, err, sizeof(err));
 *	         (NULL only when out of memory; plugin problems are logged and
 *	         leave their indexes unserved: the server still starts)
 *	SIGHUP:  after the new config parsed, and before it replaces
 *	         server.cfg (or after: the set copies what it needs),
 *	         if (plugins_reload(&newcfg, err, sizeof(err)) < 0)
 *	                 log_error("reload: %s; keeping the old plugins", err);
 *	         plugins_reload swaps server.plugins only when the whole new set
 *	         loaded without a problem, then calls fini on the old set.
 *	exit:    plugins_free(server.plugins); server.plugins = NULL;
 *
 * Everything runs on the loop thread.
 */
#ifndef MASS_PLUGINS_H
#define MASS_PLUGINS_H

#include <stddef.h>
#include <stdint.h>

#include "mass/plugin.h"

struct config;
struct plugins;
struct mass_request_parser;

/* One line of [indexes]: INDEX = PLUGIN. */
struct plugins_index_line {
	unsigned index;           /* as written; above 0xFF is rejected */
	const char *plugin;
	unsigned line;            /* 0: unknown */
};

/* One [plugin NAME] section. */
struct plugins_section {
	const char *name;
	size_t count;
	const struct mass_config_item *items;
};

/*
 * What the registry reads from mass.ini, whatever the config module's
 * layout: plugins_load() fills one from a struct config. Tests build it
 * directly.
 */
struct plugins_spec {
	const char *file;         /* mass.ini path, for messages; NULL: "mass.ini" */
	const char *dir;          /* [plugins] dir; NULL or "": PKGLIBDIR */
	const struct plugins_index_line *indexes;
	size_t nindexes;
	const struct plugins_section *sections;
	size_t nsections;
};

/*
 * Loads a set from spec. Returns the set (possibly with problems: see
 * plugins_error_count()), or NULL with err set when memory ran out.
 */
struct plugins *plugins_load_spec(const struct plugins_spec *spec, char *err, size_t errlen);

/* plugins_load_spec() over cfg's [indexes], [plugins] and [plugin NAME]. */
struct plugins *plugins_load(const struct config *cfg, char *err, size_t errlen);

/*
 * Loads a complete new set from cfg and, only when it has no problem, makes
 * it server.plugins and frees the old set (fini on each of its plugins).
 * Returns 0, or -1 with the first problem in err (the old set stays).
 */
int plugins_reload(const struct config *cfg, char *err, size_t errlen);

/* Calls fini on every initialised plugin, unloads them, frees. NULL is a no-op. */
void plugins_free(struct plugins *p);

/* Problems found while loading: the count, and message i ("plugin NAME (PATH): reason"). */
size_t plugins_error_count(const struct plugins *p);
const char *plugins_error(const struct plugins *p, size_t i);

/* True when index is served by p (00 always is). */
int plugins_served(const struct plugins *p, uint8_t index);

/* The usage line of a served index, or NULL. */
const char *plugins_usage(const struct plugins *p, uint8_t index);

/*
 * The mass_lookup_fn for the request framer: ctx is a struct plugins *
 * (NULL: only 00 is served). Returns the signature, or NULL if unserved.
 */
const char *plugins_signature(void *ctx, uint8_t index);

/*
 * Answers a framed request (mass_request_parse() returned PROTO_DONE) with p:
 * runs the handler and encodes the reply into out (cap octets, at least 1).
 * An unsupported index, or one whose signature changed since it was framed
 * (a reload in between), answers 02. Returns the number of octets to send.
 */
size_t plugins_serve(struct plugins *p, const struct mass_request_parser *rq,
		     uint8_t *out, size_t cap);

#endif
