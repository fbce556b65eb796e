/*
 * netlink: the host's own addresses, kept current from the kernel's
 * announcements (rtnetlink RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR), so
 * "local" follows the host live: an address gained after start (DHCP,
 * SLAAC, a VPN or container interface, `ip addr add`) is local as soon as
 * the loop reads the kernel's message, one removed stops being local, and
 * no SIGHUP is needed.
 *
 * One netlink socket, non-blocking, on the loop. Each readiness reads at
 * most NETLINK_BURST datagrams (the rest waits for the next round, the
 * socket being level-triggered), so a storm of changes cannot hold the
 * loop. The table starts from a dump (RTM_GETADDR) taken after the
 * subscription, so no change between the two is lost; when the kernel
 * drops announcements (ENOBUFS: the socket's buffer overflowed) the table
 * is rebuilt from a new dump. Only the kernel's messages are read (sender
 * port 0).
 *
 * An address is kept per interface (index and address), so one held by
 * two interfaces stays local until both lose it. At most NETLINK_ADDRS_MAX
 * are kept; beyond, a warning is logged once and further addresses are
 * not known as local (loopback and the unspecified range always are, by
 * the ACL's own rule).
 *
 * Loop thread only. Errors into the caller's buffer.
 */
#ifndef MASS_NETLINK_H
#define MASS_NETLINK_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"

struct loop;
struct netlink_addrs;

#define NETLINK_ADDRS_MAX 1024
#define NETLINK_BURST 16

/*
 * Subscribes, takes the first dump and watches the socket on loop.
 * Returns the table, or NULL with err set (no netlink: the caller keeps
 * the addresses it listed itself).
 */
struct netlink_addrs *netlink_addrs_open(struct loop *loop, char *err, size_t errlen);

/* Stops watching and frees (NULL is fine). */
void netlink_addrs_close(struct netlink_addrs *n);

/* Whether host (a full-length address: /32 or /128, IPv4 unmapped) is one of the host's now. */
bool netlink_addrs_has(const struct netlink_addrs *n, const struct net_cidr *host);

/* How many addresses are known now. */
size_t netlink_addrs_count(const struct netlink_addrs *n);

#endif
