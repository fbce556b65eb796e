/*
 * snapshot: the reference count of an immutable object shared by its
 * readers (the runtime's configuration snapshot, runtime.h).
 *
 * The builder embeds a struct snapshot in what it builds, sets refs to 1
 * and destroy to its own free function; readers below it (a SOCKS session
 * holding the policy it started with) take and drop references through
 * this header alone, so they neither include nor link against the layer
 * that builds the object. The count is atomic so that later several event
 * loops may share one snapshot; everything else in it is read-only.
 */
#ifndef MASS_SNAPSHOT_H
#define MASS_SNAPSHOT_H

#include <stdatomic.h>

struct snapshot {
	atomic_uint refs;
	/* frees the whole object when the last reference goes */
	void (*destroy)(struct snapshot *snap);
};

/* Takes one more reference on snap (non-NULL). Returns snap. */
static inline struct snapshot *snapshot_hold(struct snapshot *snap)
{
	atomic_fetch_add(&snap->refs, 1);
	return snap;
}

/* Drops a reference; the last one calls destroy. NULL is a no-op. */
static inline void snapshot_release(struct snapshot *snap)
{
	if (snap != NULL && atomic_fetch_sub(&snap->refs, 1) == 1)
		snap->destroy(snap);
}

#endif
