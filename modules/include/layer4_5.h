/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The API the Layer 4.5 core module (layer4_5.ko) exports to customization modules.
 * A customization registers one struct l45_customization; the core calls it for every flow
 * whose socket picked it (highest priority first), answers the NCO's security challenges with
 * the module's key, and reports what is installed, deprecated and revoked.
 */
#ifndef LAYER4_5_H
#define LAYER4_5_H

#include <linux/types.h>
#include <linux/module.h>

struct l45_flow {
	__be32 saddr, daddr;
	__be16 sport, dport;
	u8 protocol;
	u32 tag;
};

struct l45_customization {
	u16 id;                 /* module id, unique per host (from the NCO block) */
	u32 priority;           /* higher runs first; unique per host */
	bool active;            /* inactive: registered but picked by no socket */
	bool apply_now;         /* apply to existing sockets too, not only new ones */
	const char *name;
	const u8 *key;          /* 32-byte module key: the core answers challenges with it */
	/* Rewrites or tags outgoing bytes; returns the new length or a negative errno. */
	int (*egress)(struct l45_flow *flow, u8 *buf, size_t len, size_t cap);
	/* Undoes egress on incoming bytes. */
	int (*ingress)(struct l45_flow *flow, u8 *buf, size_t len, size_t cap);
	struct module *owner;
};

int l45_register_customization(struct l45_customization *c);
void l45_unregister_customization(struct l45_customization *c);
/* Sets a tag on the flow that the core writes into the Layer 4.5 header. */
int l45_flow_set_tag(struct l45_flow *flow, u32 tag);

#endif
