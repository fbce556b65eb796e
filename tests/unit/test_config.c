/* Unit tests for mass.ini loading: defaults, the shipped file, every key type, every error. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* By path: the build directory's config.h is autoconf's. */
#include "check_main.h"
#include "config.h"

static char dir[] = "/tmp/mass-test-config-XXXXXX";
static char path[sizeof(dir) + 16];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mass.ini", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
	strcpy(dir, "/tmp/mass-test-config-XXXXXX");
}

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads text; returns config_load's result with the message in err. */
static int load(struct config *c, const char *text, char *err, size_t errlen)
{
	write_file(text, strlen(text));
	err[0] = '\0';
	return config_load(c, path, err, errlen);
}

static void assert_defaults(const struct config *c)
{
	ck_assert_ptr_null(c->path);
	ck_assert_uint_eq(c->listen_len, 2);
	ck_assert_str_eq(c->listen[0], "0.0.0.0");
	ck_assert_str_eq(c->listen[1], "::");
	ck_assert_uint_eq(c->port, 1080);
	ck_assert(c->auth);
	ck_assert(c->dissectors);
	ck_assert_ptr_null(c->users_file);
	ck_assert_uint_eq(c->max_users, 64);
	ck_assert_ptr_null(c->password_hash);
	ck_assert_uint_eq(c->password_cost, 0);
	ck_assert_str_eq(c->access_log, "-");
	ck_assert_uint_eq(c->connect_timeout, 10);
	ck_assert_uint_eq(c->idle_timeout, 300);
	ck_assert_uint_eq(c->shutdown_timeout, 5);
	ck_assert_uint_eq(c->handshake_timeout, 10);
	ck_assert_uint_eq(c->fin_timeout, 60);
	ck_assert_uint_eq(c->max_clients, 0);
	ck_assert_ptr_null(c->resolver);
	ck_assert_uint_eq(c->commands, CMD_CONNECT | CMD_BIND | CMD_UDP);
	ck_assert_ptr_null(c->user);
	ck_assert_uint_eq(c->proxy_protocol.len, 0);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_POP3].len, 1);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_POP3].ports[0], 110);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_HTTP].len, 2);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_HTTP].ports[0], 80);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_HTTP].ports[1], 8080);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_FTP].ports[0], 21);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_IMAP].ports[0], 143);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_SMTP].len, 2);
	ck_assert_uint_eq(c->dissector_ports[DISSECT_SMTP].ports[1], 587);
	ck_assert_uint_eq(c->acl.len, 0);
	ck_assert_uint_eq(c->users.len, 0);
	ck_assert_uint_eq(c->admins.len, 0);
	ck_assert_uint_eq(c->mgmt_listen_len, 1);
	ck_assert_str_eq(c->mgmt_listen[0], "127.0.0.1");
	ck_assert_uint_eq(c->mgmt_port, 8080);
	ck_assert(c->mgmt_auth);
	ck_assert_uint_eq(c->mgmt_timeout, 10);
	ck_assert_uint_eq(c->mgmt_max_connections, 64);
	ck_assert_str_eq(c->plugins_dir, PKGLIBDIR);
	for (int i = 0; i < 256; i++) {
		ck_assert_ptr_null(c->indexes[i]);
		ck_assert_int_eq(c->index_lines[i], 0);
	}
	ck_assert_uint_eq(c->plugins_len, 0);
}

/*
 * The config owns its strings, defaults included: a reload keeping the
 * bound addresses of a file without `listen` (the static defaults) and
 * freeing both configurations frees nothing twice and nothing static.
 */
START_TEST(listen_kept_across_a_reload_is_owned)
{
	struct config running, fresh;
	char err[256];

	config_defaults(&running);
	config_defaults(&fresh);
	ck_assert(config_same_listen(&running, &fresh));
	ck_assert_int_eq(config_parse_listen(fresh.listen, &fresh.listen_len, "127.0.0.1",
					     err, sizeof(err)), 0);
	fresh.mgmt_port = 9;
	ck_assert(!config_same_listen(&running, &fresh));
	ck_assert_int_eq(config_copy_listen(&fresh, &running), 0);
	ck_assert(config_same_listen(&running, &fresh));
	ck_assert_uint_eq(fresh.listen_len, 2);
	ck_assert_str_eq(fresh.listen[1], "::");
	ck_assert_ptr_ne(fresh.listen[0], running.listen[0]);
	config_free(&running);
	ck_assert_str_eq(fresh.mgmt_listen[0], "127.0.0.1");
	config_free(&fresh);
	config_free(&fresh);   /* freed is the defaults: again is harmless */
}
END_TEST

START_TEST(defaults)
{
	struct config c;

	config_defaults(&c);
	assert_defaults(&c);
	config_free(&c);
	assert_defaults(&c);
}
END_TEST

START_TEST(shipped_file_loads)
{
	static const char *const plugin[0x1A] = {
		NULL, "users", "metrics", "metrics", "metrics", "metrics", "metrics", "metrics",
		"metrics", "metrics", "users", "users", "auth", "dissectors", NULL, NULL,
		"sessions", "sessions", "sessions", "sessions", "info", "prometheus",
		"limits", "limits", "limits", "limits"
	};
	struct config c;
	char err[512];

	ck_assert_msg(config_load(&c, TOP_SRCDIR "/etc/mass.ini", err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(c.path, TOP_SRCDIR "/etc/mass.ini");
	ck_assert_uint_eq(c.listen_len, 2);
	ck_assert_str_eq(c.listen[0], "0.0.0.0");
	ck_assert_str_eq(c.listen[1], "::");
	ck_assert_uint_eq(c.port, 1080);
	ck_assert_str_eq(c.mgmt_listen[0], "127.0.0.1");
	ck_assert_uint_eq(c.mgmt_port, 8080);
	ck_assert(c.auth && c.dissectors && c.mgmt_auth);
	ck_assert_ptr_null(c.users_file);
	ck_assert_ptr_null(c.resolver);
	ck_assert_ptr_null(c.user);
	ck_assert_uint_eq(c.commands, CMD_CONNECT | CMD_BIND | CMD_UDP);
	ck_assert_str_eq(c.plugins_dir, PKGLIBDIR);
	for (int i = 0; i < 256; i++) {
		if (i < 0x1A && plugin[i] != NULL)
			ck_assert_str_eq(c.indexes[i], plugin[i]);
		else if (i == 0x0F)
			ck_assert_str_eq(c.indexes[i], "metrics");
		else if (i == 0x1A)
			ck_assert_str_eq(c.indexes[i], "upstreams");
		else
			ck_assert_ptr_null(c.indexes[i]);
	}
	ck_assert_str_eq(c.log_level, "info");
	/* no account with a published password */
	ck_assert_uint_eq(c.users.len, 0);
	ck_assert_uint_eq(c.admins.len, 0);
	/* the safe defaults: the quick start's allow, then this host, link-local,
	 * multicast and broadcast */
	ck_assert_uint_eq(c.acl.len, 7);
	ck_assert_str_eq(c.acl.items[0].key, "allow");
	ck_assert_str_eq(c.acl.items[1].value, "dest local");
	ck_assert(c.plugins_strict);
	ck_assert_uint_eq(c.mgmt_max_unauthenticated, 32);
	ck_assert_ptr_nonnull(config_plugin_find(&c, "users"));
	ck_assert_ptr_null(config_plugin_find(&c, "users")->module);
	ck_assert_ptr_nonnull(config_plugin_find(&c, "prometheus"));
	config_free(&c);
	assert_defaults(&c);
}
END_TEST

START_TEST(every_key_type)
{
	static const char text[] =
		"\xEF\xBB\xBF; every key, none at its default\n"
		"[socks]\n"
		"listen = 127.0.0.2 ,::1,  10.0.0.1\n"
		"port = 0\n"
		"auth = Off\n"
		"dissectors = no\n"
		"users_file = /var/lib/mass/users ; persisted\n"
		"max_users = 255\n"
		"password_hash = bcrypt\n"
		"password_cost = 12\n"
		"access_log = /var/log/mass.log\n"
		"log_level = debug\n"
		"connect_timeout = 1\n"
		"idle_timeout = 86400\n"
		"shutdown_timeout = 7\n"
		"handshake_timeout = 8\n"
		"fin_timeout = 9\n"
		"max_clients = 1000000\n"
		"resolver = 127.0.0.1:5353, ::1, [::1]:53, 10.0.0.1\n"
		"commands = udp,connect\n"
		"user = nobody\n"
		"proxy_protocol = 10.0.0.0/8, 2001:db8::1\n"
		"[dissectors]\n"
		"pop3 =\n"
		"http = 8080, 80, 3128\n"
		"ftp = 2121\n"
		"imap = 1, 65535\n"
		"[acl]\n"
		"allow = 10.0.0.0/8\n"
		"deny = 0.0.0.0/0\n"
		"allow = ::1\n"
		"[users]\n"
		"bob = a=b:c d\n"
		"carol = secret\n"
		"[management]\n"
		"listen = ::1\n"
		"port = 65535\n"
		"auth = FALSE\n"
		"timeout = 86400\n"
		"max_connections = 10000\n"
		"[admins]\n"
		"root = toor\n"
		"[plugins]\n"
		"dir = /opt/mass/plugins\n"
		"[indexes]\n"
		"01 = users\n"
		"0a = users\n"
		"0X0B = my-plugin_2\n"
		"FE = x\n"
		"[plugin my-plugin_2]\n"
		"module = /opt/x.so\n"
		"depth = 3\n"
		"[plugin\tx]\n"
		"colour = blue\n"
		"[socks ]\n"
		"# a section name is taken as written, so the line above is refused\n";
	struct config c;
	char err[512];
	const struct config_plugin *pl;

	/* Everything but the last two lines, then the whole file for the error. */
	char *good = strdup(text);

	*strstr(good, "[socks ]") = '\0';
	ck_assert_msg(load(&c, good, err, sizeof(err)) == 0, "%s", err);
	free(good);
	ck_assert_str_eq(c.path, path);
	ck_assert_uint_eq(c.listen_len, 3);
	ck_assert_str_eq(c.listen[0], "127.0.0.2");
	ck_assert_str_eq(c.listen[1], "::1");
	ck_assert_str_eq(c.listen[2], "10.0.0.1");
	ck_assert_uint_eq(c.port, 0);
	ck_assert(!c.auth && !c.dissectors && !c.mgmt_auth);
	ck_assert_str_eq(c.users_file, "/var/lib/mass/users");
	ck_assert_uint_eq(c.max_users, 255);
	ck_assert_str_eq(c.password_hash, "bcrypt");
	ck_assert_uint_eq(c.password_cost, 12);
	ck_assert_str_eq(c.access_log, "/var/log/mass.log");
	ck_assert_uint_eq(c.proxy_protocol.len, 2);
	ck_assert_uint_eq(c.proxy_protocol.nets[0].family, AF_INET);
	ck_assert_uint_eq(c.proxy_protocol.nets[0].prefix, 8);
	ck_assert_uint_eq(c.proxy_protocol.nets[1].family, AF_INET6);
	ck_assert_uint_eq(c.proxy_protocol.nets[1].prefix, 128);
	{
		struct sockaddr_in in = { .sin_family = AF_INET };

		in.sin_addr.s_addr = htonl(0x0A010203);
		ck_assert(net_cidr_any(c.proxy_protocol.nets, 2, (struct sockaddr *)&in));
		in.sin_addr.s_addr = htonl(0x0B010203);
		ck_assert(!net_cidr_any(c.proxy_protocol.nets, 2, (struct sockaddr *)&in));
	}
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_uint_eq(c.connect_timeout, 1);
	ck_assert_uint_eq(c.idle_timeout, 86400);
	ck_assert_uint_eq(c.shutdown_timeout, 7);
	ck_assert_uint_eq(c.handshake_timeout, 8);
	ck_assert_uint_eq(c.fin_timeout, 9);
	ck_assert_uint_eq(c.max_clients, 1000000);
	ck_assert_str_eq(c.resolver, "127.0.0.1:5353, ::1, [::1]:53, 10.0.0.1");
	ck_assert_uint_eq(c.commands, CMD_CONNECT | CMD_UDP);
	ck_assert_str_eq(c.user, "nobody");
	ck_assert_uint_eq(c.dissector_ports[DISSECT_POP3].len, 0);
	ck_assert_uint_eq(c.dissector_ports[DISSECT_HTTP].len, 3);
	ck_assert_uint_eq(c.dissector_ports[DISSECT_HTTP].ports[2], 3128);
	ck_assert_uint_eq(c.dissector_ports[DISSECT_FTP].ports[0], 2121);
	ck_assert_uint_eq(c.dissector_ports[DISSECT_IMAP].ports[1], 65535);
	ck_assert_uint_eq(c.acl.len, 3);
	ck_assert_str_eq(c.acl.items[0].key, "allow");
	ck_assert_str_eq(c.acl.items[1].value, "0.0.0.0/0");
	ck_assert_str_eq(c.acl.items[2].value, "::1");
	ck_assert_int_eq(c.acl.items[2].line, 31);
	ck_assert_uint_eq(c.users.len, 2);
	ck_assert_str_eq(c.users.items[0].value, "a=b:c d");
	ck_assert_str_eq(c.users.items[1].key, "carol");
	ck_assert_str_eq(c.admins.items[0].key, "root");
	ck_assert_str_eq(c.mgmt_listen[0], "::1");
	ck_assert_uint_eq(c.mgmt_listen_len, 1);
	ck_assert_uint_eq(c.mgmt_port, 65535);
	ck_assert_uint_eq(c.mgmt_timeout, 86400);
	ck_assert_uint_eq(c.mgmt_max_connections, 10000);
	ck_assert_str_eq(c.plugins_dir, "/opt/mass/plugins");
	ck_assert_str_eq(c.indexes[0x01], "users");
	ck_assert_str_eq(c.indexes[0x0A], "users");
	ck_assert_str_eq(c.indexes[0x0B], "my-plugin_2");
	ck_assert_str_eq(c.indexes[0xFE], "x");
	ck_assert_int_eq(c.index_lines[0x0B], 48);
	ck_assert_ptr_null(c.indexes[0x02]);
	ck_assert_uint_eq(c.plugins_len, 2);
	pl = config_plugin_find(&c, "my-plugin_2");
	ck_assert_ptr_nonnull(pl);
	ck_assert_str_eq(pl->module, "/opt/x.so");
	ck_assert_uint_eq(pl->keys.len, 2);
	ck_assert_str_eq(pl->keys.items[0].key, "module");
	ck_assert_str_eq(pl->keys.items[1].key, "depth");
	ck_assert_str_eq(pl->keys.items[1].value, "3");
	pl = config_plugin_find(&c, "x");
	ck_assert_ptr_nonnull(pl);
	ck_assert_ptr_null(pl->module);
	ck_assert_str_eq(pl->keys.items[0].value, "blue");
	ck_assert_ptr_null(config_plugin_find(&c, "y"));
	config_free(&c);
	assert_defaults(&c);

	/* All or nothing: one bad line at the end and nothing above is kept. */
	ck_assert_int_eq(load(&c, text, err, sizeof(err)), -1);
	assert_defaults(&c);
}
END_TEST

START_TEST(empty_values_restore_defaults)
{
	struct config c;
	char err[512];

	ck_assert_msg(load(&c, "[plugins]\ndir =\n[socks]\nusers_file =\nresolver =\nuser =\n"
			   "log_level =\nproxy_protocol =\n", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.plugins_dir, PKGLIBDIR);
	ck_assert_uint_eq(c.proxy_protocol.len, 0);
	ck_assert_ptr_null(c.log_level);
	ck_assert_ptr_null(c.users_file);
	ck_assert_ptr_null(c.resolver);
	ck_assert_ptr_null(c.user);
	config_free(&c);
	ck_assert_msg(load(&c, "", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.path, path);
	config_free(&c);
}
END_TEST

/* Each bad file and the exact message after "PATH:". */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "[socks]\nport = 65536\n", "2: [socks] port: expected an integer from 0 to 65535" },
	{ "[socks]\nport = -1\n", "2: [socks] port: expected an integer from 0 to 65535" },
	{ "[socks]\nport = 99999999999999999999999\n",
	  "2: [socks] port: expected an integer from 0 to 65535" },
	{ "[socks]\nport =\n", "2: [socks] port: expected an integer from 0 to 65535" },
	{ "[socks]\nport = 1x\n", "2: [socks] port: expected an integer from 0 to 65535" },
	{ "[socks]\nconnect_timeout = 0\n",
	  "2: [socks] connect_timeout: expected an integer from 1 to 86400" },
	{ "[socks]\nidle_timeout = 86401\n",
	  "2: [socks] idle_timeout: expected an integer from 1 to 86400" },
	{ "[socks]\nshutdown_timeout = 0\n",
	  "2: [socks] shutdown_timeout: expected an integer from 1 to 86400" },
	{ "[socks]\nhandshake_timeout = 0\n",
	  "2: [socks] handshake_timeout: expected an integer from 1 to 86400" },
	{ "[socks]\nfin_timeout = 0\n",
	  "2: [socks] fin_timeout: expected an integer from 1 to 86400" },
	{ "[socks]\nmax_users = 256\n", "2: [socks] max_users: expected an integer from 0 to 255" },
	{ "[socks]\npassword_hash = md5\n", "2: [socks] password_hash: unknown or unsupported hash "
	  "method (this system has: yescrypt gost-yescrypt scrypt bcrypt sha512crypt sha256crypt)" },
	{ "[socks]\npassword_cost = -1\n",
	  "2: [socks] password_cost: expected an integer from 0 to 999999999" },
	{ "[socks]\nmax_clients = 1000001\n",
	  "2: [socks] max_clients: expected an integer from 0 to 1000000" },
	{ "[management]\nmax_connections = 0\n",
	  "2: [management] max_connections: expected an integer from 1 to 10000" },
	{ "[management]\nmax_connections = 10001\n",
	  "2: [management] max_connections: expected an integer from 1 to 10000" },
	{ "[management]\ntimeout = 0\n",
	  "2: [management] timeout: expected an integer from 1 to 86400" },
	{ "[management]\nport = 70000\n",
	  "2: [management] port: expected an integer from 0 to 65535" },
	{ "[socks]\nauth = maybe\n",
	  "2: [socks] auth: expected on/off, yes/no, true/false or 1/0" },
	{ "[management]\nauth =\n",
	  "2: [management] auth: expected on/off, yes/no, true/false or 1/0" },
	{ "[socks]\ndissectors = 2\n",
	  "2: [socks] dissectors: expected on/off, yes/no, true/false or 1/0" },
	{ "[socks]\nlisten = localhost\n",
	  "2: [socks] listen: \"localhost\" is not a numeric IPv4 or IPv6 address" },
	{ "[socks]\nlisten = 1.2.3.4, [::1]\n",
	  "2: [socks] listen: \"[::1]\" is not a numeric IPv4 or IPv6 address" },
	{ "[socks]\nlisten =\n", "2: [socks] listen: no address given" },
	{ "[socks]\nlisten = 1.2.3.4,\n", "2: [socks] listen: empty list element" },
	{ "[socks]\nlisten = ::1, ::1\n", "2: [socks] listen: address ::1 listed twice" },
	{ "[socks]\nlisten = 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,"
	  "10.0.0.8,10.0.0.9\n", "2: [socks] listen: more than 8 addresses" },
	{ "[management]\nlisten = 256.0.0.1\n",
	  "2: [management] listen: \"256.0.0.1\" is not a numeric IPv4 or IPv6 address" },
	{ "[socks]\naccess_log =\n", "2: [socks] access_log: empty value" },
	{ "[socks]\nresolver = dns.example\n",
	  "2: [socks] resolver: \"dns.example\" is not a numeric address with an optional port "
	  "(1.2.3.4, 1.2.3.4:53, ::1 or [::1]:53)" },
	{ "[socks]\nresolver = 1.2.3.4:0\n",
	  "2: [socks] resolver: \"1.2.3.4:0\" is not a numeric address with an optional port "
	  "(1.2.3.4, 1.2.3.4:53, ::1 or [::1]:53)" },
	{ "[socks]\nresolver = [1.2.3.4]:53\n",
	  "2: [socks] resolver: \"[1.2.3.4]:53\" is not a numeric address with an optional port "
	  "(1.2.3.4, 1.2.3.4:53, ::1 or [::1]:53)" },
	{ "[socks]\nresolver = [::1]x\n",
	  "2: [socks] resolver: \"[::1]x\" is not a numeric address with an optional port "
	  "(1.2.3.4, 1.2.3.4:53, ::1 or [::1]:53)" },
	{ "[socks]\nresolver = 1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
	  "1.1.1.9\n", "2: [socks] resolver: more than 8 servers" },
	{ "[socks]\ncommands = connect, ping\n",
	  "2: [socks] commands: unknown command \"ping\" (expected connect, bind or udp)" },
	{ "[socks]\ncommands = bind, bind\n", "2: [socks] commands: command bind listed twice" },
	{ "[socks]\ncommands =\n", "2: [socks] commands: no command given" },
	{ "[socks]\nproxy_protocol = 10.0.0.1/8\n",
	  "2: [socks] proxy_protocol: \"10.0.0.1/8\": host bits set after the prefix length" },
	{ "[socks]\nproxy_protocol = 10.0.0.0/8,, ::1\n",
	  "2: [socks] proxy_protocol: empty list element" },
	{ "[socks]\nproxy_protocol = haproxy\n",
	  "2: [socks] proxy_protocol: \"haproxy\" is not an address or CIDR block" },
	{ "[socks]\nproxy_protocol = 1.0.0.1,1.0.0.2,1.0.0.3,1.0.0.4,1.0.0.5,1.0.0.6,1.0.0.7,"
	  "1.0.0.8,1.0.0.9,1.0.0.10,1.0.0.11,1.0.0.12,1.0.0.13,1.0.0.14,1.0.0.15,1.0.0.16,"
	  "1.0.0.17\n", "2: [socks] proxy_protocol: more than 16 blocks" },
	{ "[socks]\nuser = -root\n",
	  "2: [socks] user: not a user name (letters, digits, '.', '_' and '-', at most 32, "
	  "not starting with '-')" },
	{ "[socks]\nlog_level = loud\n",
	  "2: [socks] log_level: \"loud\" is not a log level (error, warn, info or debug)" },
	{ "[socks]\nuser = a b\n",
	  "2: [socks] user: not a user name (letters, digits, '.', '_' and '-', at most 32, "
	  "not starting with '-')" },
	{ "[dissectors]\nhttp = 80, 0\n",
	  "2: [dissectors] http: \"0\" is not a port from 1 to 65535" },
	{ "[dissectors]\nftp = 21, 21\n", "2: [dissectors] ftp: port 21 listed twice" },
	{ "[dissectors]\nimap = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n",
	  "2: [dissectors] imap: more than 16 ports" },
	{ "[dissectors]\nnntp = 119\n", "2: [dissectors] nntp: unknown key" },
	{ "[socks]\nport = 1\n\n; again\nport = 2\n",
	  "5: [socks] port: duplicate key (first set on line 2)" },
	{ "[socks]\nport = 1\n[management]\nport = 2\n[socks]\nport = 3\n",
	  "6: [socks] port: duplicate key (first set on line 2)" },
	{ "[socks]\nlisten = ::\nbogus = 1\n", "3: [socks] bogus: unknown key" },
	{ "[socks]\nPort = 1\n", "2: [socks] Port: unknown key" },
	{ "[bogus]\nx = 1\n", "1: [bogus]: unknown section" },
	{ "[plugin]\n", "1: [plugin]: unknown section" },
	{ "[plugin a.b]\n", "1: [plugin a.b]: invalid plugin name (letters, digits, '_' and '-')" },
	{ "[plugin " "abcdefghijklmnopqrstuvwxyz0123456]\n",
	  "1: [plugin abcdefghijklmnopqrstuvwxyz0123456]: invalid plugin name "
	  "(letters, digits, '_' and '-')" },
	{ "x = 1\n", "1: [] x: key outside any section" },
	{ "[socks]\nport 1080\n", "2: [socks]: syntax error (expected [section] or key = value)" },
	{ "[socks]\nport 1080", "2: [socks]: syntax error (expected [section] or key = value)" },
	{ "[socks\nport = 1\n", "1: []: syntax error (expected [section] or key = value)" },
	{ "[socks]\n= 1\n", "2: [socks]: empty key" },
	{ "[socks]\nport = 1\n  auth = off\n",
	  "3: [socks]: indented line (only comments may be indented)" },
	{ "[socks]\n\tport = 1\n", "2: [socks]: indented line (only comments may be indented)" },
	{ "[users]\nbob = 1\nbob = 2\n", "3: [users] bob: duplicate key (first set on line 2)" },
	{ "[admins]\na\x7f = 1\n",
	  "2: [admins] a\x7f: invalid name (1..255 printable ASCII characters, no ':')" },
	{ "[users]\nbob = \x1f\n",
	  "2: [users] bob: invalid password (1..255 printable ASCII characters)" },
	{ "[users]\nbob =\n",
	  "2: [users] bob: invalid password (1..255 printable ASCII characters)" },
	{ "[socks]\nmax_users = 1\n[users]\na = 1\nb = 2\nc = 3\n",
	  "5: [users] b: more users than max_users (1)" },
	{ "[users]\na = 1\n[socks]\nmax_users = 0\n",
	  "2: [users] a: more users than max_users (0)" },
	{ "[indexes]\n00 = core\n", "2: [indexes] 00: index 00 is the core's, always on" },
	{ "[indexes]\nff = x\n", "2: [indexes] ff: index FF is reserved" },
	{ "[indexes]\n0xFF = x\n", "2: [indexes] 0xFF: index FF is reserved" },
	{ "[indexes]\n1 = x\n",
	  "2: [indexes] 1: not an index (two hex digits, 01 to FE, as 0A or 0x0A)" },
	{ "[indexes]\n0x = x\n",
	  "2: [indexes] 0x: not an index (two hex digits, 01 to FE, as 0A or 0x0A)" },
	{ "[indexes]\n0G = x\n",
	  "2: [indexes] 0G: not an index (two hex digits, 01 to FE, as 0A or 0x0A)" },
	{ "[indexes]\n100 = x\n",
	  "2: [indexes] 100: not an index (two hex digits, 01 to FE, as 0A or 0x0A)" },
	{ "[indexes]\n0a = x\n0x0A = y\n",
	  "3: [indexes] 0x0A: duplicate key (first set on line 2)" },
	{ "[indexes]\n0E = a/b\n",
	  "2: [indexes] 0E: invalid plugin name (letters, digits, '_' and '-', at most 32)" },
	{ "[indexes]\n0E =\n",
	  "2: [indexes] 0E: invalid plugin name (letters, digits, '_' and '-', at most 32)" },
	{ "[plugin p]\nmodule = p.so\n", "2: [plugin p] module: not an absolute path" },
	{ "[plugin p]\nk = 1\n[plugin  p]\nk = 2\n",
	  "4: [plugin  p] k: duplicate key (first set on line 2)" },
	{ "[plugins]\nfolder = /x\n", "2: [plugins] folder: unknown key" },
	{ "[socks]\nport = 1\x00\n", "2: []: NUL character in the file" },
	{ "[class basic]\nupload_rate = -1\n", "2: [class basic] upload_rate: @" },
	{ "[class basic]\nquota = 10 furlongs\n", "2: [class basic] quota: @" },
	{ "[class basic]\nmax_sessions = 3\nmax_sessions = 4\n",
	  "3: [class basic] max_sessions: duplicate key" },
	{ "[class basic]\nspeed = 1\n", "2: [class basic] speed: unknown key" },
	{ "[class a.b]\n", "1: [class a.b]: invalid class name (letters, digits, '_' and '-', "
	  "at most 32)" },
	{ "[class basic]\ndownload_burst = 64K\n\n",
	  "1: [class basic] download_burst: a burst without download_rate" },
	{ "[users]\nbob = pw class=gold\n",
	  "2: [users] bob: unknown class \"gold\" (no [class gold] section)" },
};

/*
 * err is want; a want ending in "@" is a prefix only: the reason after it
 * is the value parser's (units.h), only the prefix is ours.
 */
static void assert_error_is(const char *err, char *want)
{
	if (want[strlen(want) - 1] == '@') {
		want[strlen(want) - 1] = '\0';
		ck_assert_msg(strncmp(err, want, strlen(want)) == 0 && strlen(err) > strlen(want),
			      "%s", err);
	} else {
		ck_assert_str_eq(err, want);
	}
}

START_TEST(errors_are_exact)
{
	struct config c;
	char err[512], want[512];
	const char *text = bad[_i].text;
	size_t len = strlen(text);

	/* The NUL case is the only one whose text goes on past a NUL. */
	if (strstr(bad[_i].msg, "NUL"))
		len += 2;
	write_file(text, len);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:%s", path, bad[_i].msg);
	assert_error_is(err, want);
	assert_defaults(&c);
}
END_TEST

/* The same text from memory: the same result, named as asked; the buffer ends at len. */
START_TEST(errors_are_exact_from_memory)
{
	struct config c;
	char err[512], want[512], *copy;
	const char *text = bad[_i].text;
	size_t len = strlen(text);

	if (strstr(bad[_i].msg, "NUL"))
		len += 2;
	copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, len);
	ck_assert_int_eq(config_load_buffer(&c, "mem.ini", copy, len, err, sizeof(err)), -1);
	free(copy);
	snprintf(want, sizeof(want), "mem.ini:%s", bad[_i].msg);
	assert_error_is(err, want);
	assert_defaults(&c);
}
END_TEST

START_TEST(load_from_memory)
{
	static const char text[] = "[socks]\nport = 1081\n[acl]\ndeny = all";
	struct config c;
	char err[512], *big;

	/* no final newline and no NUL after the last octet */
	ck_assert_int_eq(config_load_buffer(&c, "mem.ini", text, sizeof(text) - 1, err,
					    sizeof(err)), 0);
	ck_assert_str_eq(c.path, "mem.ini");
	ck_assert_uint_eq(c.port, 1081);
	ck_assert_uint_eq(c.acl.len, 1);
	ck_assert_str_eq(c.acl.items[0].value, "all");
	config_free(&c);
	/* as large as a file may be, and one octet more */
	big = malloc(1024 * 1024 + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, '\n', 1024 * 1024 + 1);
	ck_assert_int_eq(config_load_buffer(&c, "big.ini", big, 1024 * 1024, err, sizeof(err)), 0);
	config_free(&c);
	ck_assert_int_eq(config_load_buffer(&c, "big.ini", big, 1024 * 1024 + 1, err,
					    sizeof(err)), -1);
	ck_assert_str_eq(err, "big.ini: larger than 1 MiB");
	assert_defaults(&c);
	free(big);
}
END_TEST

/* [class NAME] sections, and a [users] value's class. */
START_TEST(classes_and_user_classes)
{
	struct config c;
	char err[512];
	const struct limits_class *k;

	ck_assert_int_eq(load(&c, "[users]\nann = secret word class=basic\nbob = pw\n"
			      "cid = pw class=x class=default\ndee = a class=b c\n"
			      "[class basic]\ndownload_rate = 10M\nmax_sessions = 20\n"
			      "quota = 50G\nquota_period = month\n[socks]\nquota_file = /q\n",
			      err, sizeof(err)), 0);
	ck_assert_uint_eq(c.classes.len, 2);
	ck_assert_str_eq(c.classes.list[0].name, "default");
	ck_assert(!limits_class_limited(&c.classes.list[0]));
	k = limits_class_table_find(&c.classes, "basic");
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(k->rate[LIMITS_DOWN], 10u << 20);
	ck_assert_uint_eq(k->max_sessions, 20);
	ck_assert_uint_eq(k->quota, 50ull << 30);
	ck_assert_str_eq(c.users.items[0].value, "secret word");
	ck_assert_str_eq(config_user_class(&c, "ann"), "basic");
	ck_assert_ptr_null(config_user_class(&c, "bob"));
	ck_assert_str_eq(c.users.items[2].value, "pw class=x");
	ck_assert_str_eq(config_user_class(&c, "cid"), "default");
	ck_assert_str_eq(c.users.items[3].value, "a class=b c");   /* not the last word */
	ck_assert_str_eq(c.quota_file, "/q");
	ck_assert_uint_eq(c.quota_flush, 5);
	config_free(&c);
	/* no [class] section: only default */
	ck_assert_int_eq(load(&c, "[socks]\nport = 1\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.classes.len, 1);
	config_free(&c);
}
END_TEST

START_TEST(long_line)
{
	struct config c;
	char err[512], want[512], text[1024];

	snprintf(text, sizeof(text), "[acl]\nallow = %0900d\n", 0);
	ck_assert_int_eq(load(&c, text, err, sizeof(err)), -1);
	/* The bound is inih's (INI_MAX_LINE); only its form is checked. */
	snprintf(want, sizeof(want), "%s:2: [acl]: line longer than ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	assert_defaults(&c);
}
END_TEST

START_TEST(unreadable_file)
{
	struct config c;
	char err[512], want[512];

	ck_assert_int_eq(config_load(&c, "/nonexistent/mass.ini", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/mass.ini: No such file or directory");
	assert_defaults(&c);
	ck_assert_int_eq(config_load(&c, dir, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	ck_assert_str_eq(err, want);
	assert_defaults(&c);
}
END_TEST

START_TEST(helpers)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	/* Replacing the static defaults must not free them. */
	ck_assert_int_eq(config_parse_listen(c.listen, &c.listen_len, "::1 , 127.0.0.1",
					     err, sizeof(err)), 0);
	ck_assert_uint_eq(c.listen_len, 2);
	ck_assert_str_eq(c.listen[1], "127.0.0.1");
	ck_assert_int_eq(config_parse_listen(c.listen, &c.listen_len, "::1,nope", err,
					     sizeof(err)), -1);
	ck_assert_str_eq(err, "\"nope\" is not a numeric IPv4 or IPv6 address");
	ck_assert_uint_eq(c.listen_len, 2);
	ck_assert_str_eq(c.listen[0], "::1");
	ck_assert_int_eq(config_parse_listen(c.mgmt_listen, &c.mgmt_listen_len, "0.0.0.0",
					     err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_string(&c.access_log, "/tmp/log"), 0);
	ck_assert_int_eq(config_set_string(&c.plugins_dir, "/p"), 0);
	ck_assert_int_eq(config_set_string(&c.user, NULL), 0);
	ck_assert_str_eq(c.access_log, "/tmp/log");
	ck_assert_int_eq(config_list_add(&c.users, "u", "p", 0), 0);
	ck_assert_int_eq(config_list_add(&c.users, "v", "q", 0), 0);
	ck_assert_str_eq(c.users.items[1].value, "q");
	config_free(&c);
	assert_defaults(&c);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, shipped_file_loads);
	tcase_add_test(tc, every_key_type);
	tcase_add_test(tc, empty_values_restore_defaults);
	tcase_add_loop_test(tc, errors_are_exact, 0, (int)(sizeof(bad) / sizeof(*bad)));
	tcase_add_loop_test(tc, errors_are_exact_from_memory, 0, (int)(sizeof(bad) / sizeof(*bad)));
	tcase_add_test(tc, load_from_memory);
	tcase_add_test(tc, classes_and_user_classes);
	tcase_add_test(tc, long_line);
	tcase_add_test(tc, unreadable_file);
	tcase_add_test(tc, helpers);
	tcase_add_test(tc, listen_kept_across_a_reload_is_owned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_main_run(config_suite());
}
