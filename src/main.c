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

static struct main_options opts = { .port = -1, .mgmt_port = -1 };
/* the one runtime context (runtime.h), handed to the listeners, mgmt and host */
static struct runtime_ctx main_ctx;
static struct listener *main_listeners[CONFIG_MAX_LISTEN];
static size_t main_nlisteners;
static int main_signal_fd = -1;
static struct loop_timer main_grace;

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
static int main_add_cli_user(char *arg)
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
	return config_list_add(&main_ctx.opts.cli_users, arg, colon + 1, 0);
}

static int main_parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opts.config_path = SYSCONFDIR "/mass.ini";
	while ((c = getopt_long(argc, argv, "c:l:p:L:P:u:Ndtvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			opts.config_given = true;
			break;
		case 'l':
			opts.listen = optarg;
			break;
		case 'L':
			opts.mgmt_listen = optarg;
			break;
		case 'p':
		case 'P': {
			long port = main_parse_port(optarg);

			if (port < 0) {
				fprintf(stderr, "socks5d: -%c %s: not a port (0-65535)\n", c, optarg);
				return -1;
			}
			*(c == 'p' ? &opts.port : &opts.mgmt_port) = port;
			break;
		}
		case 'u':
			if (main_add_cli_user(optarg) < 0)
				return -1;
			break;
		case 'N':
			main_ctx.opts.no_dissectors = true;
			break;
		case 'd':
			opts.debug = true;
			break;
		case 't':
			opts.check = true;
			main_ctx.opts.check = true;
			break;
		case 'v':
			printf("socks5d (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			exit(0);
		case 'h':
			main_usage(stdout);
			exit(0);
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
static int main_load_config(struct config *cfg, char *err, size_t errlen)
{
	config_defaults(cfg);
	if (opts.config_given || access(opts.config_path, F_OK) == 0) {
		if (config_load(cfg, opts.config_path, err, errlen) < 0)
			return -1;
	} else {
		log_warn("%s not found; running with the built-in defaults", opts.config_path);
	}
	if (opts.listen != NULL &&
	    config_parse_listen(cfg->listen, &cfg->listen_len, opts.listen, err, errlen) < 0)
		return -1;
	if (opts.mgmt_listen != NULL &&
	    config_parse_listen(cfg->mgmt_listen, &cfg->mgmt_listen_len, opts.mgmt_listen,
				err, errlen) < 0)
		return -1;
	if (opts.port >= 0)
		cfg->port = (uint16_t)opts.port;
	if (opts.mgmt_port >= 0)
		cfg->mgmt_port = (uint16_t)opts.mgmt_port;
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
static void main_note_self(const char *addr, uint16_t port)
{
	char err[128];
	socklen_t len;

	if (main_ctx.nself < RUNTIME_SELF_MAX &&
	    net_parse_addr(addr, port, &main_ctx.self[main_ctx.nself], &len, err, sizeof(err)) == 0)
		main_ctx.nself++;
}

static int main_open_listeners(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->listen_len; i++) {
		struct listener *l = listener_open(main_ctx.socks.loop, cfg->listen[i], cfg->port,
						   session_accept, &main_ctx.socks, err, errlen);

		if (l == NULL)
			return -1;
		main_listeners[main_nlisteners++] = l;
		main_note_self(listener_addr(l), listener_port(l));
		log_info("SOCKS listening on %s port %u", listener_addr(l),
			 (unsigned)listener_port(l));
	}
	return 0;
}

/* What plugins see of the listeners (host->server_info, ABI 1.1). */
static void main_publish_listeners(void)
{
	struct mass_listen_addr addrs[CONFIG_MAX_LISTEN + MGMT_LISTEN_MAX];
	size_t i, n = mgmt_listener_count();

	for (i = 0; i < main_nlisteners; i++) {
		addrs[i].addr = listener_addr(main_listeners[i]);
		addrs[i].port = listener_port(main_listeners[i]);
	}
	host_info_set_listeners(0, addrs, main_nlisteners);
	for (i = 0; i < n && i < MGMT_LISTEN_MAX; i++) {
		addrs[i].addr = mgmt_addr(i);
		addrs[i].port = mgmt_port(i);
	}
	host_info_set_listeners(1, addrs, i);
}

static void main_close_listeners(void)
{
	for (size_t i = 0; i < main_nlisteners; i++)
		listener_close(main_listeners[i]);
	main_nlisteners = 0;
}

/* The level cfg asks for (checked by config_load), unless -d says debug. */
static enum log_level main_log_level(const struct config *cfg)
{
	enum log_level level = LOG_INFO;

	if (opts.debug)
		return LOG_DEBUG;
	if (cfg->log_level != NULL)
		(void)log_level_parse(cfg->log_level, &level);
	return level;
}

/* SIGHUP: everything or nothing (runtime_apply); a broken file keeps the running configuration. */
static void main_reload(void)
{
	char err[MAIN_ERRLEN];
	struct config cfg;
	enum log_level level;

	log_info("reloading %s", opts.config_path);
	if (main_load_config(&cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running configuration", err);
		return;
	}
	level = main_log_level(&cfg);
	if (runtime_apply(&main_ctx, &cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running configuration", err);
		return;
	}
	log_threshold = level;
	if (accesslog_reopen(&main_ctx.accesslog, err, sizeof(err)) < 0)
		log_error("reload: %s", err);
	log_info("reloaded %s", opts.config_path);
}

static void main_exit_now(void)
{
	loop_stop(main_ctx.socks.loop);
}

static void main_grace_over(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	(void)t;
	if (session_count(&main_ctx.socks) > 0)
		log_info("closing %zu tunnels still open after %u s", session_count(&main_ctx.socks),
			 main_ctx.rt->cfg.shutdown_timeout);
	main_exit_now();
}

static void main_check_drained(struct loop *loop, struct loop_timer *t);
static struct loop_timer main_drain_poll;

static void main_check_drained(struct loop *loop, struct loop_timer *t)
{
	(void)t;
	if (session_count(&main_ctx.socks) == 0) {
		main_exit_now();
		return;
	}
	loop_timer_start(loop, &main_drain_poll, 100, main_check_drained);
}

static void main_begin_shutdown(int signo)
{
	unsigned grace = main_ctx.rt->cfg.shutdown_timeout;

	if (main_ctx.socks.stopping) {
		log_info("second signal: exiting now");
		main_exit_now();
		return;
	}
	main_ctx.socks.stopping = true;
	log_info("%s: no new connections; %zu tunnels get up to %u s to finish",
		 strsignal(signo), session_count(&main_ctx.socks), grace);
	main_close_listeners();
	mgmt_stop();
	loop_timer_start(main_ctx.socks.loop, &main_grace, (uint64_t)grace * 1000u, main_grace_over);
	main_check_drained(main_ctx.socks.loop, NULL);
}

static void main_on_signal(struct loop *loop, int fd, void *data, int events)
{
	struct signalfd_siginfo si;

	(void)loop;
	(void)data;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		/* the service manager hears of reloads and of the shutdown (notify.h) */
		if (si.ssi_signo == SIGHUP) {
			notify_reloading();
			main_reload();
			notify_ready();
		} else {
			notify_stopping();
			main_begin_shutdown((int)si.ssi_signo);
		}
	}
}

static int main_setup_signals(char *err, size_t errlen)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (main_signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    loop_add(main_ctx.socks.loop, main_signal_fd, LOOP_READ, main_on_signal, NULL) < 0) {
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
 * Everything up to the loop: bind while still privileged, then build the
 * runtime (plugins run their init without privileges) through the same
 * runtime_apply() as SIGHUP.
 */
static int main_start(char *err, size_t errlen)
{
	int max_fds = main_raise_nofile();
	struct config cfg;
	int rc = -1;

	if (main_load_config(&cfg, err, errlen) < 0)
		return -1;
	log_threshold = main_log_level(&cfg);
	main_ctx.socks.loop = loop_create(max_fds, err, errlen);
	if (main_ctx.socks.loop == NULL || main_setup_signals(err, errlen) < 0)
		goto out;
	loop_set_before_wait(main_ctx.socks.loop, accesslog_flush_hook, &main_ctx.accesslog);
	host_services_start(main_ctx.socks.loop);
	main_ctx.socks.resolver = resolver_create(main_ctx.socks.loop, cfg.resolver, err, errlen);
	if (main_ctx.socks.resolver == NULL || accesslog_open(&main_ctx.accesslog, cfg.access_log, err, errlen) < 0)
		goto out;
	main_ctx.mgmt.loop = main_ctx.socks.loop;
	if (main_open_listeners(&cfg, err, errlen) < 0 ||
	    mgmt_start(&main_ctx.mgmt, cfg.mgmt_listen, cfg.mgmt_listen_len, cfg.mgmt_port,
		       err, errlen) < 0)
		goto out;
	main_publish_listeners();
	for (size_t i = 0; i < mgmt_listener_count(); i++)
		if (mgmt_addr(i) != NULL)
			main_note_self(mgmt_addr(i), mgmt_port(i));
	if (main_drop_privileges(cfg.user, err, errlen) < 0 ||
	    (main_ctx.socks.verify = verify_pool_create(main_ctx.socks.loop, 0, MAIN_VERIFY_QUEUE,
						  MAIN_VERIFY_CACHE, err, errlen)) == NULL ||
	    (main_ctx.mgmt.verify = main_ctx.socks.verify) == NULL ||
	    runtime_apply(&main_ctx, &cfg, err, errlen) < 0)
		goto out;
	mgmt_ready();
	log_info("socks5d %s ready: auth %s, dissectors %s, %zu users, up to %d descriptors",
		 PACKAGE_VERSION, main_ctx.socks.live.auth ? "on" : "off",
		 main_ctx.socks.live.dissectors ? "on" : "off", main_ctx.socks.live.users.len, max_fds);
	rc = 0;
out:
	config_free(&cfg);
	return rc;
}

/* -t: what the checked configuration would serve, on stdout. */
static void main_check_print(const struct config *cfg)
{
	const struct runtime *rt = main_ctx.rt;
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
	printf("users: %zu (auth %s); admins: %zu\n", main_ctx.socks.live.users.len,
	       rt->auth ? "on" : "off", rt->admins.len);
	printf("acl: %zu rules from [acl], %zu built-in\n",
	       acl_rule_count(rt->acl) - acl_builtin_count(rt->acl), acl_builtin_count(rt->acl));
}

/*
 * -t: everything main_start() builds except what acts on the world: no
 * socket is bound, no privilege dropped, no file written (runtime.h's
 * opts.check), no access log opened; every plugin loads and runs its init,
 * then its fini. The built-in ACL rules are computed from the listen
 * addresses as configured. Returns the exit status: 0 when the file and
 * every plugin are fine, else 1 with the reasons on stderr.
 */
static int main_check(void)
{
	char err[MAIN_ERRLEN];
	struct config cfg;
	int rc = 1;

	if (main_load_config(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "socks5d: %s\n", err);
		printf("socks5d: configuration %s: test failed\n", opts.config_path);
		return 1;
	}
	log_threshold = opts.debug ? LOG_DEBUG : LOG_WARN;
	for (size_t i = 0; i < cfg.listen_len; i++)
		main_note_self(cfg.listen[i], cfg.port);
	for (size_t i = 0; i < cfg.mgmt_listen_len; i++)
		main_note_self(cfg.mgmt_listen[i], cfg.mgmt_port);
	if (cfg.user != NULL && getpwnam(cfg.user) == NULL) {
		snprintf(err, sizeof(err), "%s: [socks] user: no such user %s",
			 cfg.path ? cfg.path : "mass.ini", cfg.user);
		goto out;
	}
	main_ctx.socks.loop = loop_create(64, err, sizeof(err));
	if (main_ctx.socks.loop == NULL)
		goto out;
	host_services_start(main_ctx.socks.loop);
	if ((main_ctx.socks.verify = verify_pool_create(main_ctx.socks.loop, 1, 16, 0, err,
							sizeof(err))) == NULL ||
	    runtime_apply(&main_ctx, &cfg, err, sizeof(err)) < 0)
		goto out;
	if (plugins_error_count(main_ctx.rt->plugins) > 0) {
		snprintf(err, sizeof(err), "%s: %zu plugin problems (above), first: %s",
			 opts.config_path, plugins_error_count(main_ctx.rt->plugins),
			 plugins_error(main_ctx.rt->plugins, 0));
		goto out;
	}
	main_check_print(main_ctx.rt ? &main_ctx.rt->cfg : &cfg);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "socks5d: %s\n", err);
	printf("socks5d: configuration %s: %s\n", opts.config_path,
	       rc == 0 ? "test is successful" : "test failed");
	config_free(&cfg);
	runtime_ctx_free(&main_ctx);   /* the plugins' fini */
	if (main_ctx.socks.loop != NULL)
		loop_destroy(main_ctx.socks.loop);
	return rc;
}

static void main_cleanup(void)
{
	session_close_all(&main_ctx.socks);
	main_close_listeners();
	mgmt_stop();
	if (main_ctx.socks.resolver != NULL)
		resolver_destroy(main_ctx.socks.resolver);
	if (main_signal_fd >= 0)
		close(main_signal_fd);
	runtime_ctx_free(&main_ctx);
	loop_destroy(main_ctx.socks.loop);
	accesslog_close(&main_ctx.accesslog);
	pool_drain();
}

int main(int argc, char **argv)
{
	char err[MAIN_ERRLEN];
	int status = 0;

	if (main_parse_args(argc, argv) < 0)
		return 64;
	log_init();
	/* what the loop's SOCKS context owns */
	session_table_init(&main_ctx.socks.sessions);
	accesslog_init(&main_ctx.accesslog);
	main_ctx.socks.accesslog = &main_ctx.accesslog;
	main_ctx.socks.metrics = &main_ctx.metrics;
	if (opts.check)
		return main_check();
	if (notify_init() < 0)
		log_warn("NOTIFY_SOCKET: %s; not notifying the service manager", strerror(errno));
	metrics_reset(&main_ctx.metrics);
	if (main_start(err, sizeof(err)) < 0) {
		log_error("%s", err);
		main_cleanup();
		return 1;
	}
	notify_ready();
	if (loop_run(main_ctx.socks.loop) < 0) {
		log_error("event loop: %s", strerror(errno));
		status = 1;
	}
	log_info("exiting");
	main_cleanup();
	notify_close();
	return status;
}
