/*
 * A test plugin for the loader, built in several variants (-DFIXTURE_*):
 * good (0x40 "", 0x41 "s"), a bad magic, an ABI major mismatch, a newer
 * minor, no descriptor symbol, an index declared twice, index 00 claimed,
 * an init that fails, and "other" (0x42 "b", 0x40 "" like good); ABI 1.1:
 * a bad signature ("badsig"), and "v11": 0x43 answers later (a deferred
 * reply sent from a 10 ms timer), 0x44 builds an oversized string field,
 * and init registers a repeating timer and a subscription that fini
 * forgets on purpose (the host must release them); "auth": an
 * authentication provider for both realms (user "ext" allowed at once,
 * "slow" allowed 50 ms later, "never" left pending until the 300 ms
 * timeout, "deny" refused, any other declined).
 *
 * Every variant counts its calls: when the environment names a file in
 * MASS_FIXTURE_CALLS, init and fini each append one line ("init", "fini")
 * to it, so a test can prove which of them ran.
 */
/* the variants override identity fields on purpose */
#pragma GCC diagnostic ignored "-Woverride-init"

#include <mass/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mass_host *fixture_host;

static int fixture_ping(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	(void)state;
	(void)req;
	fixture_host->reply_str(reply, "pong", 4);
	return MASS_STATUS_OK;
}

static int fixture_echo(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	(void)state;
	fixture_host->reply_bytes(reply, req->params[0].data, req->params[0].len);
	return MASS_STATUS_OK;
}

/* Appends what ran to $MASS_FIXTURE_CALLS, when set. */
static void fixture_count(const char *what)
{
	const char *path = getenv("MASS_FIXTURE_CALLS");
	FILE *f = path != NULL ? fopen(path, "a") : NULL;

	if (f != NULL) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

#ifdef FIXTURE_V11
static unsigned fixture_ticks;

static void fixture_tick(void *arg, struct mass_timer *t)
{
	(void)arg;
	(void)t;
	fixture_ticks++;
}

static void fixture_later(void *arg, struct mass_timer *t)
{
	(void)t;
	fixture_host->reply_str(arg, "late", 4);
	fixture_host->reply_send(arg, MASS_STATUS_OK);
}

static int fixture_defer(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	struct mass_reply *later = fixture_host->reply_defer(reply);

	(void)state;
	(void)req;
	if (later == NULL || fixture_host->timer_add(10, 0, fixture_later, later) == NULL)
		return MASS_STATUS_ERROR;
	return MASS_STATUS_PENDING;
}

static int fixture_overflow(void *state, const struct mass_request *req, struct mass_reply *reply)
{
	static const char big[300];

	(void)state;
	(void)req;
	fixture_host->reply_str(reply, big, sizeof(big));
	return MASS_STATUS_OK;
}

static void fixture_event(void *arg, const struct mass_event *ev)
{
	(void)arg;
	(void)ev;
}
#endif

#ifdef FIXTURE_AUTH
static void fixture_allow_later(void *arg, struct mass_timer *t)
{
	(void)t;
	fixture_host->auth_complete(arg, MASS_AUTH_ALLOW);
}

static int fixture_provider(void *arg, const struct mass_auth_query *q, struct mass_auth *pending)
{
	(void)arg;
	if (q->user_len == 3 && memcmp(q->user, "ext", 3) == 0)
		return q->pass_len == 2 && memcmp(q->pass, "ok", 2) == 0 ? MASS_AUTH_ALLOW
									  : MASS_AUTH_DENY;
	if (q->user_len == 4 && memcmp(q->user, "slow", 4) == 0)
		return fixture_host->timer_add(50, 0, fixture_allow_later, pending) != NULL
		       ? MASS_AUTH_PENDING : MASS_AUTH_DENY;
	if (q->user_len == 5 && memcmp(q->user, "never", 5) == 0)
		return MASS_AUTH_PENDING;   /* the host's timeout decides; freed at unload */
	if (q->user_len == 4 && memcmp(q->user, "deny", 4) == 0)
		return MASS_AUTH_DENY;
	if (q->user_len == 4 && memcmp(q->user, "busy", 4) == 0)
		return MASS_AUTH_BUSY;      /* could not check now (ABI 1.2) */
	return MASS_AUTH_DECLINE;
}
#endif

#ifdef FIXTURE_EVENTS
static void fixture_log_event(void *arg, const struct mass_event *ev)
{
	static const char *const names[] = { "accepted", "authenticated", "request",
					     "established", "closed", "credential" };

	(void)arg;
	switch (ev->type) {
	case MASS_EVENT_AUTHENTICATED:
		fixture_host->log(MASS_LOG_INFO, "event %s session %llu user %.*s ok %u",
				  names[ev->type], (unsigned long long)ev->session,
				  (int)ev->user_len, ev->user, ev->ok);
		break;
	case MASS_EVENT_REQUEST:
		fixture_host->log(MASS_LOG_INFO, "event %s session %llu command %u dest %s:%u",
				  names[ev->type], (unsigned long long)ev->session, ev->command,
				  ev->destination, ev->destination_port);
		break;
	case MASS_EVENT_ESTABLISHED:
		fixture_host->log(MASS_LOG_INFO, "event %s session %llu bound %s",
				  names[ev->type], (unsigned long long)ev->session, ev->bound);
		break;
	case MASS_EVENT_CLOSED:
		fixture_host->log(MASS_LOG_INFO, "event %s session %llu from %llu to %llu rep %u "
				  "user %s", names[ev->type], (unsigned long long)ev->session,
				  (unsigned long long)ev->bytes_from_client,
				  (unsigned long long)ev->bytes_to_client, ev->reply,
				  ev->user != NULL ? ev->user : "-");
		break;
	case MASS_EVENT_CREDENTIAL:
		fixture_host->log(MASS_LOG_INFO, "event %s session %llu %s %.*s:%.*s",
				  names[ev->type], (unsigned long long)ev->session, ev->protocol,
				  (int)ev->cred_user_len, ev->cred_user, (int)ev->cred_pass_len,
				  ev->cred_pass);
		break;
	default:
		fixture_host->log(MASS_LOG_INFO, "event %s session %llu client %s",
				  names[ev->type], (unsigned long long)ev->session, ev->client);
	}
}
#endif

static void fixture_fini(void *state)
{
	(void)state;
	fixture_count("fini");
}

static int fixture_init(const struct mass_host *host, const struct mass_config *config,
			void **state, char *err, size_t errlen)
{
	size_t i;

	fixture_count("init");
	fixture_host = host;
	*state = NULL;
#ifdef FIXTURE_EVENTS
	if (host->subscribe(MASS_EVENT_ALL, fixture_log_event, NULL) == NULL)
		return -1;
	{
		const struct mass_server_info *si = host->server_info();

		host->log(MASS_LOG_INFO, "server info: version %s, %zu socks listener(s), first "
			  "%s port %u, %zu mgmt, config %s, plugins %s", si->version, si->nsocks,
			  si->nsocks ? si->socks[0].addr : "-",
			  si->nsocks ? (unsigned)si->socks[0].port : 0u, si->nmgmt,
			  si->config_file, si->plugin_dir);
	}
#endif
#ifdef FIXTURE_AUTH
	if (host->auth_provider_add(MASS_AUTH_SOCKS | MASS_AUTH_ADMIN, 300, fixture_provider,
				    NULL) == NULL)
		return -1;
#endif
#ifdef FIXTURE_V11
	/* never cancelled nor unsubscribed: the host releases them at unload */
	if (host->timer_add(1, 1, fixture_tick, NULL) == NULL
	    || host->subscribe(MASS_EVENT_ALL, fixture_event, NULL) == NULL)
		return -1;
#endif
	for (i = 0; i < config->count; i++)
		if (config->items[i].key[0] == 'f') {  /* "fail = reason" */
			host->log(MASS_LOG_INFO, "failing on request");
			snprintf(err, errlen, "%s", config->items[i].value);
			return -1;
		}
#ifdef FIXTURE_INITFAIL
	snprintf(err, errlen, "cannot start: fixture says no");
	return -1;
#else
	(void)err;
	(void)errlen;
	return 0;
#endif
}

static const struct mass_index fixture_indexes[] = {
#if defined(FIXTURE_OTHER)
	{ .index = 0x42, .signature = "b", .usage = "echo one octet", .handler = fixture_echo },
	{ .index = 0x40, .signature = "", .usage = "ping", .handler = fixture_ping },
#elif defined(FIXTURE_V11)
	{ .index = 0x43, .signature = "", .usage = "answer later", .handler = fixture_defer },
	{ .index = 0x44, .signature = "", .usage = "overflow a string", .handler = fixture_overflow },
	{ .index = 0x40, .signature = "", .usage = "ping", .handler = fixture_ping },
	{ .index = 0x41, .signature = "s", .usage = "echo a string", .handler = fixture_echo },
#elif defined(FIXTURE_BADSIG)
	{ .index = 0x41, .signature = "s", .usage = "echo a string", .handler = fixture_echo },
	{ .index = 0x40, .signature = "sx", .usage = "bad", .handler = fixture_ping },
#else
	{ .index = 0x40, .signature = "", .usage = "ping", .handler = fixture_ping },
	{ .index = 0x41, .signature = "s", .usage = "echo a string", .handler = fixture_echo },
#endif
#ifdef FIXTURE_DUPINDEX
	{ .index = 0x41, .signature = "b", .usage = "again", .handler = fixture_echo },
#endif
#ifdef FIXTURE_CLAIMS00
	{ .index = 0x00, .signature = "", .usage = "not mine", .handler = fixture_ping },
#endif
};

#ifdef FIXTURE_NOSYM
/* the descriptor under another name: the host must not find it */
#define FIXTURE_SYMBOL mass_plugin_elsewhere
const struct mass_plugin FIXTURE_SYMBOL;
#else
#define FIXTURE_SYMBOL mass_plugin
#endif

const struct mass_plugin FIXTURE_SYMBOL = {
	MASS_PLUGIN_IDENTITY,
#ifdef FIXTURE_BADMAGIC
	.magic = 0x12345678,
#endif
#ifdef FIXTURE_ABIMAJOR
	.abi_major = MASS_ABI_MAJOR + 1,
#endif
#ifdef FIXTURE_NEWMINOR
	.abi_minor = MASS_ABI_MINOR + 3,
#endif
	.name = "fixture",
	.version = "0.0.1",
	.description = "loader test fixture",
	MASS_PLUGIN_INDEXES(fixture_indexes),
	.init = fixture_init,
	.fini = fixture_fini,
};
