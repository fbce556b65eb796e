#!/bin/sh
# etc/service-account.sh ENABLED USER DESTDIR SYSUSERSDIR
#
# make install's last step: the system user and group USER that the
# systemd unit runs socks5d as. Made only when installing to the real root:
# ENABLED is "yes" (configure --disable-service-account, which distcheck
# uses, says "no"), DESTDIR is empty and we run as root. Idempotent: an
# account that exists is left alone. Made by systemd-sysusers from
# SYSUSERSDIR/socks5d.conf (the installed sysusers.d file) when the system has it,
# otherwise by groupadd/useradd --system, the unit's comment's command.
# MASS_SYSUSERS names the systemd-sysusers program ("" : do not use it; the
# tests take the useradd path so). Exits non-zero only when a tool failed.
enabled=$1 user=$2 destdir=$3 conf=${4:+$4/socks5d.conf}
sysusers=${MASS_SYSUSERS-systemd-sysusers}
say() { echo "install: $*"; }

exists() { getent passwd "$user" >/dev/null 2>&1 && getent group "$user" >/dev/null 2>&1; }

if [ "$enabled" != yes ]; then
	exit 0
fi
if [ -n "$destdir" ]; then
	say "DESTDIR install: the account $user is not created here (systemd-sysusers applies" \
	    "${conf:-a sysusers.d file} on the target, or see the unit's comment)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	say "not root: the account $user is not created (the unit's comment has the command)"
	exit 0
fi
if exists; then
	exit 0
fi
if [ -n "$sysusers" ] && command -v "$sysusers" >/dev/null 2>&1 && [ -n "$conf" ] && [ -f "$conf" ]; then
	"$sysusers" "$conf" || { say "$sysusers $conf failed"; exit 1; }
	how="$sysusers $conf"
elif command -v useradd >/dev/null 2>&1 && command -v groupadd >/dev/null 2>&1; then
	if ! getent group "$user" >/dev/null 2>&1; then
		groupadd --system "$user" || { say "groupadd --system $user failed"; exit 1; }
	fi
	if ! getent passwd "$user" >/dev/null 2>&1; then
		useradd --system --gid "$user" --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$user" || { say "useradd --system $user failed"; exit 1; }
	fi
	how="useradd --system"
else
	say "neither systemd-sysusers nor useradd here: create the account $user by hand" \
	    "(the unit's comment has the command)"
	exit 0
fi
if ! exists; then
	say "$how ran but there is no user and group $user"
	exit 1
fi
say "created the system user and group $user ($how)"
