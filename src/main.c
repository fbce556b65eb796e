/*
 * socks5d: command line, start-up, signals and reload. Everything after
 * start-up happens on the one event loop.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"
#include "socks/accesslog.h"
#include "socks/acl.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/net.h"
#include "core/netlink.h"
#include "core/notify.h"
#include "mass/host_services.h"
#include "mass/mgmt.h"
#include "mass/plugins.h"
#include "core/pool.h"
#include "socks/resolve.h"
#include "runtime.h"
#include "socks/session.h"
#include "auth/cred.h"
#include "auth/verify.h"

#define MAIN_ERRLEN 512
/*
 * The verify pool (auth/verify.h, created after the privilege drop): logins
 * waiting for a worker before more are refused, and successes remembered
 * (4096 digests: about 150 KiB).
 */
#define MAIN_VERIFY_QUEUE 1024
#define MAIN_VERIFY_CACHE 4096

/* What the command line says about the file; it overrides it, also across
 * reloads (-u and -N live in the runtime's options). */
struct main_options {
	const char *config_path;
	bool config_given;
	const char *listen;
	long port;               /* -1: from the file */
	const char *mgmt_listen;
	long mgmt_port;
	bool debug;              /* -d: log_level debug whatever the file says */
	bool check;              /* -t: check the file and the plugins, then exit */
};

/*
 * Everything the daemon owns, in one object that main() allocates and
 * passes down: no function here reaches for a global.
 */
struct main_state {
	struct main_options opts;
	/* the one runtime context (runtime.h), whose parts go to the
	 * listeners (socks), mgmt (mgmt) and host */
	struct runtime_ctx ctx;
	struct mgmt_server *mgmt;
	struct listener *listeners[CONFIG_MAX_LISTEN];
	size_t nlisteners;
	int signal_fd;
	struct notify notify;          /* the service manager (notify.h) */
	struct loop_timer grace;       /* the shutdown grace period */
	struct loop_timer drain_poll;  /* checks whether every tunnel is gone */
	struct netlink_addrs *netlink; /* the host's addresses, live (NULL: none) */
	struct acl_live self_live;     /* ctx.socks.self_live points here */
};

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: socks5d [-c FILE] [-l ADDR] [-p PORT] [-L ADDR] [-P PORT]\n"
		"               [-u USER:PASS]... [-N] [-t] [-v] [-h]\n"
		"  -c FILE       configuration file (default %s/mass.ini)\n"
		"  -l ADDR       SOCKS listen address (default 0.0.0.0 and ::)\n"
		"  -p PORT       SOCKS port (default 1080; 0 picks a free port)\n"
		"  -L ADDR       management listen address (default 127.0.0.1)\n"
		"  -P PORT       management port (default 8080)\n"
		"  -u USER:PASS  add a SOCKS user (repeatable)\n"
		"  -N            disable the password dissectors\n"
		"  -d            log at debug level (overrides [socks] log_level)\n"
		"  -t            check the configuration and every plugin (init and fini),\n"
		"                print what would be served, exit 0 (ok) or 1; binds nothing\n"
		"  -v, --version print the version and exit\n"
		"  -h, --help    print this help and exit\n"
		"Usage errors exit with 64.\n",
		SYSCONFDIR);
}

static long main_parse_port(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > 65535)
		return -1;
	return v;
}

/* -u USER:PASS: checked by the credential rule, kept for every reload. Returns 0 or -1. */
static int main_add_cli_user(struct main_state *m, char *arg)
{
	char *colon = strchr(arg, ':');

	if (colon == NULL) {
		fprintf(stderr, "socks5d: -u %s: expected USER:PASS\n", arg);
		return -1;
	}
	*colon = '\0';
	if (!cred_valid_name(arg, strlen(arg)) || !cred_valid_pass(colon + 1, strlen(colon + 1))) {
		fprintf(stderr, "socks5d: -u %s: names and passwords are 1-255 "
			"printable characters, names without ':'\n", arg);
		return -1;
	}
	return config_list_add(&m->ctx.opts.cli_users, arg, colon + 1, 0);
}

/* -p PORT or -P PORT (c says which). Returns 0 or -1 (said on stderr). */
static int main_set_port(struct main_state *m, int c, const char *arg)
{
	long port = main_parse_port(arg);

	if (port < 0) {
		fprintf(stderr, "socks5d: -%c %s: not a port (0-65535)\n", c, arg);
		return -1;
	}
	*(c == 'p' ? &m->opts.port : &m->opts.mgmt_port) = port;
	return 0;
}

/* Returns 0 to run, 1 when -v or -h said all (exit 0), -1 on a usage error (said). */
static int main_parse_args(struct main_state *m, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	m->opts.config_path = SYSCONFDIR "/mass.ini";
	while ((c = getopt_long(argc, argv, "c:l:p:L:P:u:Ndtvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			m->opts.config_path = optarg;
			m->opts.config_given = true;
			break;
		case 'l':
			m->opts.listen = optarg;
			break;
		case 'L':
			m->opts.mgmt_listen = optarg;
			break;
		case 'p':
		case 'P':
			if (main_set_port(m, c, optarg) < 0)
				return -1;
			break;
		case 'u':
			if (main_add_cli_user(m, optarg) < 0)
				return -1;
			break;
		case 'N':
			m->ctx.opts.no_dissectors = true;
			break;
		case 'd':
			m->opts.debug = true;
			break;
		case 't':
			m->opts.check = true;
			m->ctx.opts.check = true;
			break;
		case 'v':
			printf("socks5d (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 1;
		case 'h':
			main_usage(stdout);
			return 1;
		default:
			main_usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return -1;
	}
	return 0;
}

/* Loads the file (or the defaults when the default file is absent) and applies the flags. */
static int main_load_config(struct main_state *m, struct config *cfg, char *err,
			    size_t errlen)
{
	config_defaults(cfg);
	if (m->opts.config_given || access(m->opts.config_path, F_OK) == 0) {
		if (config_load(cfg, m->opts.config_path, err, errlen) < 0)
			return -1;
	} else {
		log_warn("%s not found; running with the built-in defaults", m->opts.config_path);
	}
	if (m->opts.listen != NULL &&
	    config_parse_listen(cfg->listen, &cfg->listen_len, m->opts.listen, err, errlen) < 0)
		return -1;
	if (m->opts.mgmt_listen != NULL &&
	    config_parse_listen(cfg->mgmt_listen, &cfg->mgmt_listen_len, m->opts.mgmt_listen,
				err, errlen) < 0)
		return -1;
	if (m->opts.port >= 0)
		cfg->port = (uint16_t)m->opts.port;
	if (m->opts.mgmt_port >= 0)
		cfg->mgmt_port = (uint16_t)m->opts.mgmt_port;
	return 0;
}

/* The fd limit bounds how many tunnels fit: take all the kernel allows. */
static int main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("raised the open-file limit from %llu to %llu",
				 (unsigned long long)old, (unsigned long long)rl.rlim_cur);
		else
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
		return 1048576;
	return (int)rl.rlim_cur;
}

/* One bound listener into the context's list (the ACL's built-in rules). */
static void main_note_self(struct main_state *m, const char *addr, uint16_t port)
{
	char err[128];
	socklen_t len;

	if (m->ctx.nself < RUNTIME_SELF_MAX &&
	    net_parse_addr(addr, port, &m->ctx.self[m->ctx.nself], &len, err, sizeof(err)) == 0)
		m->ctx.nself++;
}

static int main_open_listeners(struct main_state *m, const struct config *cfg, char *err,
			       size_t errlen)
{
	for (size_t i = 0; i < cfg->listen_len; i++) {
		struct listener *l = listener_open(m->ctx.socks.loop, cfg->listen[i], cfg->port,
						   session_accept, &m->ctx.socks, err, errlen);

		if (l == NULL)
			return -1;
		m->listeners[m->nlisteners++] = l;
		main_note_self(m, listener_addr(l), listener_port(l));
		log_info("SOCKS listening on %s port %u", listener_addr(l),
			 (unsigned)listener_port(l));
	}
	return 0;
}

/* What plugins see of the listeners (host->server_info, ABI 1.1). */
static void main_publish_listeners(struct main_state *m)
{
	struct mass_listen_addr addrs[CONFIG_MAX_LISTEN + MGMT_LISTEN_MAX];
	size_t i, n = mgmt_listener_count(m->mgmt);

	for (i = 0; i < m->nlisteners; i++) {
		addrs[i].addr = listener_addr(m->listeners[i]);
		addrs[i].port = listener_port(m->listeners[i]);
	}
	host_info_set_listeners(0, addrs, m->nlisteners);
	for (i = 0; i < n && i < MGMT_LISTEN_MAX; i++) {
		addrs[i].addr = mgmt_addr(m->mgmt, i);
		addrs[i].port = mgmt_port(m->mgmt, i);
	}
	host_info_set_listeners(1, addrs, i);
}

static void main_close_listeners(struct main_state *m)
{
	for (size_t i = 0; i < m->nlisteners; i++)
		listener_close(m->listeners[i]);
	m->nlisteners = 0;
}

/* The level cfg asks for (checked by config_load), unless -d says debug. */
static enum log_level main_log_level(const struct main_state *m, const struct config *cfg)
{
	enum log_level level = LOG_INFO;

	if (m->opts.debug)
		return LOG_DEBUG;
	if (cfg->log_level != NULL)
		(void)log_level_parse(cfg->log_level, &level);
	return level;
}

/* After a refused reload: what the running configuration goes on serving,
 * since the refusal's own messages are about the file that was refused. */
static void main_reload_refused(const struct main_state *m)
{
	char served[1024];

	log_info("reload refused: still running %s as loaded before, MASS indexes %s",
		 m->opts.config_path, plugins_describe(m->ctx.rt != NULL ? m->ctx.rt->plugins
						       : NULL, served, sizeof(served)));
}

/* SIGHUP: everything or nothing (runtime_apply); a broken file keeps the running configuration. */
static void main_reload(struct main_state *m)
{
	char err[MAIN_ERRLEN];
	struct config cfg;
	enum log_level level;

	log_info("reloading %s", m->opts.config_path);
	if (main_load_config(m, &cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running configuration", err);
		main_reload_refused(m);
		return;
	}
	level = main_log_level(m, &cfg);
	if (runtime_apply(&m->ctx, &cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running configuration", err);
		main_reload_refused(m);
		return;
	}
	log_threshold = level;
	if (accesslog_reopen(&m->ctx.accesslog, err, sizeof(err)) < 0)
		log_error("reload: %s", err);
	log_info("reloaded %s", m->opts.config_path);
}

static void main_exit_now(struct main_state *m)
{
	loop_stop(m->ctx.socks.loop);
}

static void main_grace_over(struct loop *loop, struct loop_timer *t)
{
	struct main_state *m = LOOP_TIMER_OWNER(t, struct main_state, grace);

	(void)loop;
	if (session_count(&m->ctx.socks) > 0)
		log_info("closing %zu tunnels still open after %u s", session_count(&m->ctx.socks),
			 m->ctx.rt->cfg.shutdown_timeout);
	main_exit_now(m);
}

static void main_check_drained(struct loop *loop, struct loop_timer *t);

/* Exits once every tunnel is gone; until then looks again every 100 ms. */
static void main_poll_drained(struct main_state *m)
{
	if (session_count(&m->ctx.socks) == 0) {
		main_exit_now(m);
		return;
	}
	loop_timer_start(m->ctx.socks.loop, &m->drain_poll, 100, main_check_drained);
}

static void main_check_drained(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	main_poll_drained(LOOP_TIMER_OWNER(t, struct main_state, drain_poll));
}

static void main_begin_shutdown(struct main_state *m, int signo)
{
	unsigned grace = m->ctx.rt->cfg.shutdown_timeout;

	if (m->ctx.socks.stopping) {
		log_info("second signal: exiting now");
		main_exit_now(m);
		return;
	}
	m->ctx.socks.stopping = true;
	log_info("%s: no new connections; %zu tunnels get up to %u s to finish",
		 strsignal(signo), session_count(&m->ctx.socks), grace);
	main_close_listeners(m);
	mgmt_stop(m->mgmt);
	loop_timer_start(m->ctx.socks.loop, &m->grace, (uint64_t)grace * 1000u, main_grace_over);
	main_poll_drained(m);
}

static void main_on_signal(struct loop *loop, int fd, void *data, int events)
{
	struct main_state *m = data;
	struct signalfd_siginfo si;

	(void)loop;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		/* the service manager hears of reloads and of the shutdown (notify.h) */
		if (si.ssi_signo == SIGHUP) {
			notify_reloading(&m->notify);
			main_reload(m);
			notify_ready(&m->notify);
		} else {
			notify_stopping(&m->notify);
			main_begin_shutdown(m, (int)si.ssi_signo);
		}
	}
}

static int main_setup_signals(struct main_state *m, char *err, size_t errlen)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (m->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    loop_add(m->ctx.socks.loop, m->signal_fd, LOOP_READ, main_on_signal, m) < 0) {
		snprintf(err, errlen, "signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * [socks] user: once every socket is bound, become that user for good
 * (supplementary groups, group, then user; a root that cannot drop does
 * not run).
 */
static int main_drop_privileges(const char *name, char *err, size_t errlen)
{
	struct passwd *pw;

	if (name == NULL)
		return 0;
	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL) {
		snprintf(err, errlen, "user %s: %s", name, errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (geteuid() == pw->pw_uid && getegid() == pw->pw_gid) {
		log_info("already running as %s", name);
		return 0;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "dropping privileges to %s: %s", name, strerror(errno));
		return -1;
	}
	/* a setuid that can be undone did not drop anything */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "dropping privileges to %s: root could be regained", name);
		return -1;
	}
	log_info("dropped privileges to %s (uid %u, gid %u)", name, (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_gid);
	return 0;
}

/*
 * "Local" follows the host (core/netlink.h): the ACL's self rules and
 * "dest local" read the addresses the kernel announces. Without netlink
 * they keep the list taken at start and at each reload.
 */
static void main_watch_addresses(struct main_state *m)
{
	char err[128];

	m->netlink = netlink_addrs_open(m->ctx.socks.loop, err, sizeof(err));
	if (m->netlink == NULL)
		log_warn("%s: the ACL knows the host's addresses as listed at start and reload",
			 err);
	m->self_live.host = m->netlink;
	m->ctx.socks.self_live = &m->self_live;
	host_services_set_self(&m->self_live); /* a plugin's listener joins it */
}

/*
 * Everything up to the loop: bind while still privileged, then build the
 * runtime (plugins run their init without privileges) through the same
 * runtime_apply() as SIGHUP.
 */
static int main_start(struct main_state *m, char *err, size_t errlen)
{
	int max_fds = main_raise_nofile();
	struct config cfg;
	int rc = -1;

	if (main_load_config(m, &cfg, err, errlen) < 0)
		return -1;
	log_threshold = main_log_level(m, &cfg);
	m->ctx.socks.loop = loop_create(max_fds, err, errlen);
	if (m->ctx.socks.loop == NULL || main_setup_signals(m, err, errlen) < 0)
		goto out;
	loop_set_before_wait(m->ctx.socks.loop, accesslog_flush_hook, &m->ctx.accesslog);
	host_services_start(m->ctx.socks.loop);
	main_watch_addresses(m);
	m->ctx.socks.resolver = resolver_create(m->ctx.socks.loop, cfg.resolver, err, errlen);
	if (m->ctx.socks.resolver == NULL ||
	    accesslog_open(&m->ctx.accesslog, cfg.access_log, err, errlen) < 0)
		goto out;
	m->ctx.mgmt.loop = m->ctx.socks.loop;
	if (main_open_listeners(m, &cfg, err, errlen) < 0 ||
	    (m->mgmt = mgmt_start(&m->ctx.mgmt, cfg.mgmt_listen, cfg.mgmt_listen_len,
				  cfg.mgmt_port, err, errlen)) == NULL)
		goto out;
	main_publish_listeners(m);
	for (size_t i = 0; i < mgmt_listener_count(m->mgmt); i++)
		if (mgmt_addr(m->mgmt, i) != NULL)
			main_note_self(m, mgmt_addr(m->mgmt, i), mgmt_port(m->mgmt, i));
	if (main_drop_privileges(cfg.user, err, errlen) < 0 ||
	    (m->ctx.socks.verify = verify_pool_create(m->ctx.socks.loop, 0, MAIN_VERIFY_QUEUE,
						  MAIN_VERIFY_CACHE, err, errlen)) == NULL ||
	    (m->ctx.mgmt.verify = m->ctx.socks.verify) == NULL ||
	    runtime_apply(&m->ctx, &cfg, err, errlen) < 0)
		goto out;
	mgmt_ready(m->mgmt);
	log_info("socks5d %s ready: auth %s, dissectors %s, %zu users, up to %d descriptors",
		 PACKAGE_VERSION, m->ctx.socks.live.auth ? "on" : "off",
		 m->ctx.socks.live.dissectors ? "on" : "off", m->ctx.socks.live.users.len, max_fds);
	rc = 0;
out:
	config_free(&cfg);
	return rc;
}

/* -t: what the checked configuration would serve, on stdout. */
static void main_check_print(const struct main_state *m, const struct config *cfg)
{
	const struct runtime *rt = m->ctx.rt;
	struct mass_index_info info;

	for (size_t i = 0; i < cfg->listen_len; i++)
		printf("socks listener: %s port %u\n", cfg->listen[i], (unsigned)cfg->port);
	for (size_t i = 0; i < cfg->mgmt_listen_len; i++)
		printf("management listener: %s port %u\n", cfg->mgmt_listen[i],
		       (unsigned)cfg->mgmt_port);
	for (unsigned i = 0; i < 256; i++) {
		info.size = sizeof(info);
		if (plugins_index_info(rt->plugins, (uint8_t)i, &info) == 0)
			printf("index %02X: %s %s\n", i, info.plugin,
			       info.plugin_version != NULL ? info.plugin_version : "");
	}
	printf("users: %zu (auth %s); admins: %zu\n", m->ctx.socks.live.users.len,
	       rt->auth ? "on" : "off", rt->admins.len);
	printf("acl: %zu rules from [acl], %zu built-in\n",
	       acl_rule_count(rt->acl) - acl_builtin_count(rt->acl), acl_builtin_count(rt->acl));
}

/*
 * -t: everything main_start() builds except what acts on the world: no
 * socket is bound, no privilege dropped, no file written (runtime.h's
 * m->opts.check), no access log opened; every plugin loads and runs its init,
 * then its fini. The built-in ACL rules are computed from the listen
 * addresses as configured. Returns the exit status: 0 when the file and
 * every plugin are fine, else 1 with the reasons on stderr.
 */
static int main_check(struct main_state *m)
{
	char err[MAIN_ERRLEN];
	struct config cfg;
	int rc = 1;

	if (main_load_config(m, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "socks5d: %s\n", err);
		printf("socks5d: configuration %s: test failed\n", m->opts.config_path);
		return 1;
	}
	log_threshold = m->opts.debug ? LOG_DEBUG : LOG_WARN;
	for (size_t i = 0; i < cfg.listen_len; i++)
		main_note_self(m, cfg.listen[i], cfg.port);
	for (size_t i = 0; i < cfg.mgmt_listen_len; i++)
		main_note_self(m, cfg.mgmt_listen[i], cfg.mgmt_port);
	if (cfg.user != NULL && getpwnam(cfg.user) == NULL) {
		snprintf(err, sizeof(err), "%s: [socks] user: no such user %s",
			 cfg.path ? cfg.path : "mass.ini", cfg.user);
		goto out;
	}
	m->ctx.socks.loop = loop_create(64, err, sizeof(err));
	if (m->ctx.socks.loop == NULL)
		goto out;
	host_services_start(m->ctx.socks.loop);
	if ((m->ctx.socks.verify = verify_pool_create(m->ctx.socks.loop, 1, 16, 0, err,
							sizeof(err))) == NULL ||
	    runtime_apply(&m->ctx, &cfg, err, sizeof(err)) < 0)
		goto out;
	if (plugins_error_count(m->ctx.rt->plugins) > 0) {
		snprintf(err, sizeof(err), "%s: %zu plugin problems (above), first: %s",
			 m->opts.config_path, plugins_error_count(m->ctx.rt->plugins),
			 plugins_error(m->ctx.rt->plugins, 0));
		goto out;
	}
	main_check_print(m, m->ctx.rt ? &m->ctx.rt->cfg : &cfg);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "socks5d: %s\n", err);
	printf("socks5d: configuration %s: %s\n", m->opts.config_path,
	       rc == 0 ? "test is successful" : "test failed");
	config_free(&cfg);
	runtime_ctx_free(&m->ctx);   /* the plugins' fini */
	if (m->ctx.socks.loop != NULL)
		loop_destroy(m->ctx.socks.loop);
	return rc;
}

static void main_cleanup(struct main_state *m)
{
	session_close_all(&m->ctx.socks);
	main_close_listeners(m);
	mgmt_free(m->mgmt);
	m->mgmt = NULL;
	if (m->ctx.socks.resolver != NULL)
		resolver_destroy(m->ctx.socks.resolver);
	if (m->signal_fd >= 0)
		close(m->signal_fd);
	runtime_ctx_free(&m->ctx);
	netlink_addrs_close(m->netlink);
	loop_destroy(m->ctx.socks.loop);
	accesslog_close(&m->ctx.accesslog);
	pool_drain(&m->ctx.pool);
}

/* The daemon's life once the state exists: start, loop, clean up. Returns the exit status. */
static int main_run(struct main_state *m, int argc, char **argv)
{
	char err[MAIN_ERRLEN];
	int status = main_parse_args(m, argc, argv);

	if (status != 0)
		return status < 0 ? 64 : 0;   /* a usage error, or -v/-h done */
	log_init();
	/* what the loop's SOCKS context owns */
	session_table_init(&m->ctx.socks.sessions);
	accesslog_init(&m->ctx.accesslog);
	m->ctx.socks.accesslog = &m->ctx.accesslog;
	m->ctx.socks.metrics = &m->ctx.metrics;
	m->ctx.socks.pool = &m->ctx.pool;
	if (m->opts.check)
		return main_check(m);
	if (notify_init(&m->notify) < 0)
		log_warn("NOTIFY_SOCKET: %s; not notifying the service manager", strerror(errno));
	metrics_reset(&m->ctx.metrics);
	if (main_start(m, err, sizeof(err)) < 0) {
		log_error("%s", err);
		main_cleanup(m);
		return 1;
	}
	notify_ready(&m->notify);
	if (loop_run(m->ctx.socks.loop) < 0) {
		log_error("event loop: %s", strerror(errno));
		status = 1;
	}
	log_info("exiting");
	main_cleanup(m);
	notify_close(&m->notify);
	return status;
}

int main(int argc, char **argv)
{
	/* on the heap: the runtime context holds the loop's buffers (~150 KiB) */
	struct main_state *m = calloc(1, sizeof(*m));
	int status;

	if (m == NULL) {
		fprintf(stderr, "socks5d: out of memory\n");
		return 1;
	}
	m->opts.port = -1;
	m->opts.mgmt_port = -1;
	m->signal_fd = -1;
	m->notify.fd = -1;
	status = main_run(m, argc, argv);
	free(m);
	return status;
}
