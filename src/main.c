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
#include "mass/mgmt.h"
#include "mass/plugins.h"
#include "core/pool.h"
#include "socks/resolve.h"
#include "server.h"
#include "socks/session.h"
#include "auth/cred.h"

#define MAIN_ERRLEN 512

/* What the command line says; it overrides the file, also across reloads. */
struct main_options {
	const char *config_path;
	bool config_given;
	const char *listen;
	long port;               /* -1: from the file */
	const char *mgmt_listen;
	long mgmt_port;
	struct config_list cli_users;
	bool no_dissectors;
};

static struct main_options opts = { .port = -1, .mgmt_port = -1 };
static struct listener *main_listeners[CONFIG_MAX_LISTEN];
static size_t main_nlisteners;
static int main_signal_fd = -1;
static struct loop_timer main_grace;

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: socks5d [-c FILE] [-l ADDR] [-p PORT] [-L ADDR] [-P PORT]\n"
		"               [-u USER:PASS]... [-N] [-v] [-h]\n"
		"  -c FILE       configuration file (default %s/mass.ini)\n"
		"  -l ADDR       SOCKS listen address (default 0.0.0.0 and ::)\n"
		"  -p PORT       SOCKS port (default 1080; 0 picks a free port)\n"
		"  -L ADDR       management listen address (default 127.0.0.1)\n"
		"  -P PORT       management port (default 8080)\n"
		"  -u USER:PASS  add a SOCKS user (repeatable)\n"
		"  -N            disable the password dissectors\n"
		"  -v            print the version and exit\n"
		"  -h            print this help and exit\n",
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

static int main_parse_args(int argc, char **argv)
{
	int c;

	opts.config_path = SYSCONFDIR "/mass.ini";
	while ((c = getopt(argc, argv, "c:l:p:L:P:u:Nvh")) != -1) {
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
		case 'u': {
			char *colon = strchr(optarg, ':');

			if (colon == NULL) {
				fprintf(stderr, "socks5d: -u %s: expected USER:PASS\n", optarg);
				return -1;
			}
			*colon = '\0';
			if (!cred_valid_name(optarg, strlen(optarg)) ||
			    !cred_valid_pass(colon + 1, strlen(colon + 1))) {
				fprintf(stderr, "socks5d: -u %s: names and passwords are 1-255 "
					"printable characters, names without ':'\n", optarg);
				return -1;
			}
			if (config_list_add(&opts.cli_users, optarg, colon + 1, 0) < 0)
				return -1;
			break;
		}
		case 'N':
			opts.no_dissectors = true;
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

static int main_open_listeners(char *err, size_t errlen)
{
	for (size_t i = 0; i < server.cfg.listen_len; i++) {
		struct listener *l = listener_open(server.loop, server.cfg.listen[i],
						   server.cfg.port, session_accept, NULL,
						   err, errlen);

		if (l == NULL)
			return -1;
		main_listeners[main_nlisteners++] = l;
		log_info("SOCKS listening on %s port %u", listener_addr(l),
			 (unsigned)listener_port(l));
	}
	return 0;
}

static void main_close_listeners(void)
{
	for (size_t i = 0; i < main_nlisteners; i++)
		listener_close(main_listeners[i]);
	main_nlisteners = 0;
}

/* Puts the runtime switches back to what the configuration says. */
static void main_apply_switches(void)
{
	server.auth = server.cfg.auth;
	server.dissectors = server.cfg.dissectors && !opts.no_dissectors;
}

static bool main_same_listen(const struct config *a, const struct config *b)
{
	if (a->port != b->port || a->listen_len != b->listen_len ||
	    a->mgmt_port != b->mgmt_port || a->mgmt_listen_len != b->mgmt_listen_len)
		return false;
	for (size_t i = 0; i < a->listen_len; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return false;
	for (size_t i = 0; i < a->mgmt_listen_len; i++)
		if (strcmp(a->mgmt_listen[i], b->mgmt_listen[i]) != 0)
			return false;
	return true;
}

/* Moves the old address list into the new configuration, freeing the new one. */
static void main_keep_listen(char **dst, size_t *dst_len, char **src, size_t *src_len)
{
	for (size_t i = 0; i < *dst_len; i++)
		free(dst[i]);
	memcpy(dst, src, CONFIG_MAX_LISTEN * sizeof(*dst));
	*dst_len = *src_len;
	memset(src, 0, CONFIG_MAX_LISTEN * sizeof(*src));
	*src_len = 0;
}

/*
 * The ACL of cfg, whose built-in rule protects the management listeners as
 * they are bound (listen changes need a restart, so a reload keeps them).
 */
static struct acl *main_compile_acl(const struct config *cfg, char *err, size_t errlen)
{
	struct config view = *cfg;

	memcpy(view.mgmt_listen, server.cfg.mgmt_listen, sizeof(view.mgmt_listen));
	view.mgmt_listen_len = server.cfg.mgmt_listen_len;
	view.mgmt_port = server.cfg.mgmt_port;
	return acl_compile(&view, err, errlen);
}

/* SIGHUP: everything or nothing; a broken file keeps the running configuration. */
static void main_reload(void)
{
	char err[MAIN_ERRLEN];
	struct config cfg;
	struct users users = { 0 }, admins = { 0 };
	struct acl *acl = NULL;
	bool new_users = false;

	log_info("reloading %s", opts.config_path);
	if (main_load_config(&cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running configuration", err);
		return;
	}
	if ((acl = main_compile_acl(&cfg, err, sizeof(err))) == NULL ||
	    server_build_admins(&admins, &cfg, err, sizeof(err)) < 0)
		goto fail;
	/* with a users_file the file is the store and stays loaded as it is */
	if (cfg.users_file == NULL && server.cfg.users_file == NULL) {
		if (server_build_users(&users, &cfg, &opts.cli_users, err, sizeof(err)) < 0)
			goto fail;
		new_users = true;
	} else if ((cfg.users_file == NULL) != (server.cfg.users_file == NULL) ||
		   strcmp(cfg.users_file, server.cfg.users_file) != 0) {
		log_warn("reload: a change of users_file needs a restart");
	}
	/* plugins last: their swap is the one step that cannot be undone */
	if (plugins_reload(&cfg, err, sizeof(err)) < 0)
		goto fail;
	if (!main_same_listen(&cfg, &server.cfg))
		log_warn("reload: listen addresses and ports need a restart; keeping the old ones");
	if (new_users) {
		users_free(&server.users);
		server.users = users;
	} else {
		server.users.max = cfg.max_users;
	}
	users_free(&server.admins);
	server.admins = admins;
	acl_free(server.acl);
	server.acl = acl;
	/* listeners keep what they were bound to */
	main_keep_listen(cfg.listen, &cfg.listen_len, server.cfg.listen, &server.cfg.listen_len);
	main_keep_listen(cfg.mgmt_listen, &cfg.mgmt_listen_len, server.cfg.mgmt_listen,
			 &server.cfg.mgmt_listen_len);
	cfg.port = server.cfg.port;
	cfg.mgmt_port = server.cfg.mgmt_port;
	config_free(&server.cfg);
	server.cfg = cfg;
	main_apply_switches();
	if (accesslog_reopen(err, sizeof(err)) < 0)
		log_error("reload: %s", err);
	log_info("reloaded %s", opts.config_path);
	return;
fail:
	log_error("reload: %s; keeping the running configuration", err);
	users_free(&users);
	users_free(&admins);
	acl_free(acl);
	config_free(&cfg);
}

static void main_exit_now(void)
{
	loop_stop(server.loop);
}

static void main_grace_over(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	(void)t;
	if (session_count() > 0)
		log_info("closing %zu tunnels still open after %u s", session_count(),
			 server.cfg.shutdown_timeout);
	main_exit_now();
}

static void main_check_drained(struct loop *loop, struct loop_timer *t);
static struct loop_timer main_drain_poll;

static void main_check_drained(struct loop *loop, struct loop_timer *t)
{
	(void)t;
	if (session_count() == 0) {
		main_exit_now();
		return;
	}
	loop_timer_start(loop, &main_drain_poll, 100, main_check_drained);
}

static void main_begin_shutdown(int signo)
{
	if (server.stopping) {
		log_info("second signal: exiting now");
		main_exit_now();
		return;
	}
	server.stopping = true;
	log_info("%s: no new connections; %zu tunnels get up to %u s to finish",
		 strsignal(signo), session_count(), server.cfg.shutdown_timeout);
	main_close_listeners();
	mgmt_stop();
	loop_timer_start(server.loop, &main_grace,
			 (uint64_t)server.cfg.shutdown_timeout * 1000u, main_grace_over);
	main_check_drained(server.loop, NULL);
}

static void main_on_signal(struct loop *loop, int fd, void *data, int events)
{
	struct signalfd_siginfo si;

	(void)loop;
	(void)data;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			main_reload();
		else
			main_begin_shutdown((int)si.ssi_signo);
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
	    loop_add(server.loop, main_signal_fd, LOOP_READ, main_on_signal, NULL) < 0) {
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
static int main_drop_privileges(char *err, size_t errlen)
{
	const char *name = server.cfg.user;
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

static int main_start(char *err, size_t errlen)
{
	int max_fds = main_raise_nofile();

	if (main_load_config(&server.cfg, err, errlen) < 0)
		return -1;
	if ((server.acl = acl_compile(&server.cfg, err, errlen)) == NULL)
		return -1;
	main_apply_switches();
	server.loop = loop_create(max_fds, err, errlen);
	if (server.loop == NULL || main_setup_signals(err, errlen) < 0)
		return -1;
	loop_set_before_wait(server.loop, accesslog_flush);
	server.resolver = resolver_create(server.loop, server.cfg.resolver, err, errlen);
	if (server.resolver == NULL)
		return -1;
	if (server_build_users(&server.users, &server.cfg, &opts.cli_users, err, errlen) < 0 ||
	    server_build_admins(&server.admins, &server.cfg, err, errlen) < 0)
		return -1;
	if (accesslog_open(server.cfg.access_log, err, errlen) < 0)
		return -1;
	/* bind everything while still privileged; plugins run their init without */
	if (main_open_listeners(err, errlen) < 0 || mgmt_start(server.loop, err, errlen) < 0 ||
	    main_drop_privileges(err, errlen) < 0)
		return -1;
	server.plugins = plugins_load(&server.cfg, err, errlen);
	if (server.plugins == NULL)
		return -1;
	log_info("socks5d %s ready: auth %s, dissectors %s, %zu users, up to %d descriptors",
		 PACKAGE_VERSION, server.auth ? "on" : "off",
		 server.dissectors ? "on" : "off", server.users.len, max_fds);
	return 0;
}

static void main_cleanup(void)
{
	session_close_all();
	main_close_listeners();
	mgmt_stop();
	plugins_free(server.plugins);
	server.plugins = NULL;
	if (server.resolver != NULL)
		resolver_destroy(server.resolver);
	if (main_signal_fd >= 0)
		close(main_signal_fd);
	loop_destroy(server.loop);
	users_free(&server.users);
	users_free(&server.admins);
	acl_free(server.acl);
	server.acl = NULL;
	config_free(&server.cfg);
	for (size_t i = 0; i < opts.cli_users.len; i++) {
		free(opts.cli_users.items[i].key);
		free(opts.cli_users.items[i].value);
	}
	free(opts.cli_users.items);
	accesslog_close();
	pool_drain();
}

int main(int argc, char **argv)
{
	char err[MAIN_ERRLEN];
	int status = 0;

	if (main_parse_args(argc, argv) < 0)
		return 64;
	metrics_reset();
	if (main_start(err, sizeof(err)) < 0) {
		log_error("%s", err);
		main_cleanup();
		return 1;
	}
	if (loop_run(server.loop) < 0) {
		log_error("event loop: %s", strerror(errno));
		status = 1;
	}
	log_info("exiting");
	main_cleanup();
	return status;
}
