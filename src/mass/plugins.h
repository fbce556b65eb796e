/*
 * plugins: the MASS index table, loaded from mass.ini's [indexes], [plugins]
 * and [plugin NAME] sections (see <mass/plugin.h> for the ABI).
 *
 * A set is built in two passes. First every plugin named in [indexes] is
 * opened and checked: file present, regular, at most 64 MiB, a whole ELF
 * shared object, copied into a private unlinked file (a memfd) that is
 * dlopen()ed (RTLD_NOW|RTLD_LOCAL) through /proc/self/fd, so the file may be
 * replaced or overwritten at any time; symbol mass_plugin present, identity
 * (magic, ABI version, size), every index given to it served by its table,
 * no index given twice, 00 and FF never claimed, signatures valid. Only then is init called on each plugin that passed,
 * with its [plugin NAME] section. Each problem is one message
 * "plugin NAME (PATH): reason" (or "FILE:LINE: [indexes] ..."), logged and
 * kept in the set.
 *
 * The rule, the same at start and at reload: every static check of the
 * whole candidate set runs before any init(); init() runs only once all of
 * them are done. What a problem then does depends on the mode:
 *
 *	PLUGINS_START   the plugin that failed is dropped, every index it was
 *	                given is logged by name and answers 02, the rest of the
 *	                set is initialised and works (the server still starts).
 *	PLUGINS_RELOAD  any static problem refuses the whole set: NULL, err
 *	                holds the first problem, and no init() or fini() of any
 *	                candidate plugin ran. An init() that fails (all checks
 *	                passed) also refuses the set: the plugins already
 *	                initialised get their fini(), then NULL.
 *
 * Index 00 is the core's (a static table in plugins.c): it lists the served
 * indexes, ascending, 00 included.
 *
 * The runtime (runtime.h) owns the set: it loads the candidate with
 * runtime_plugins_load(), keeps it in its snapshot, and on a swap frees the old set
 * (fini) after the new one was initialised. This module keeps no set of its
 * own.
 *
 * Everything runs on the loop thread.
 */
#ifndef MASS_PLUGINS_H
#define MASS_PLUGINS_H

#include <stdbool.h>
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
 * layout: runtime_plugins_load() (src/runtime.c) fills one from a struct config. Tests build it
 * directly.
 */
struct plugins_spec {
	const char *file;         /* mass.ini path, for messages; NULL: "mass.ini" */
	const char *dir;          /* [plugins] dir; NULL or "": PKGLIBDIR */
	bool lax;                 /* [plugins] strict = off: see plugins_load_spec() */
	const struct plugins_index_line *indexes;
	size_t nindexes;
	const struct plugins_section *sections;
	size_t nsections;
};

/* How a problem in the candidate set is judged (see the rule above). */
enum plugins_mode {
	PLUGINS_START,    /* drop what fails, serve the rest */
	PLUGINS_RELOAD,   /* refuse the whole set */
};

/*
 * Loads a set from spec. A module file writable by group or others, or
 * owned by someone other than root or the running user, or in a directory
 * that is so, is refused ("plugin NAME (PATH): PATH is writable by others
 * (mode 0666)" and the like), as sshd's StrictModes refuses keys; with
 * spec->lax it is loaded with a warning instead.
 * PLUGINS_START: returns the set (possibly with
 * problems: see plugins_error_count()), or NULL with err set when memory ran
 * out. PLUGINS_RELOAD: returns a set without problems, or NULL with err set
 * to the first problem (or "plugins: out of memory").
 */
struct plugins *plugins_load_spec(const struct plugins_spec *spec, enum plugins_mode mode,
				  char *err, size_t errlen);


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
 * (a reload in between), answers 02. A reply that goes out as 01 against
 * what the plugin built is logged with the plugin and index
 * (host_reply_seal). Returns the number of octets to send; 0 when the
 * handler deferred its reply (ABI 1.1): *later is then the deferred reply,
 * to be attached with host_defer_attach() (else *later is NULL).
 */
size_t plugins_serve(struct plugins *p, const struct mass_request_parser *rq,
		     uint8_t *out, size_t cap, struct mass_reply **later);

/* What host->index_info(), plugin_count() and plugin_info() report about p
 * (see <mass/plugin.h>). index_info and module_info return 0, or -1 when
 * the index is not served / i is out of range. */
int plugins_index_info(const struct plugins *p, uint8_t index, struct mass_index_info *out);
size_t plugins_module_count(const struct plugins *p);
int plugins_module_info(const struct plugins *p, size_t i, struct mass_plugin_info *out);

#endif
