// SPDX-License-Identifier: GPL-2.0
/*
 * port-match: scrambles the payload of flows to one destination address and port with a
 * keystream derived from the module key (the far end's inverse undoes it). The destination is
 * set by module parameters at load time.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/inet.h>
#include "layer4_5.h"
#include "l45_nco.h"

// NCO VARIABLES GO HERE
L45_NCO_VARIABLES(0, "0000000000000000000000000000000000000000000000000000000000000000", 1, 1, 1);
// END NCO VARIABLES

static char *dst_addr = "0.0.0.0";
module_param(dst_addr, charp, 0444);
MODULE_PARM_DESC(dst_addr, "IPv4 destination address to match (0.0.0.0 = any)");

static ushort dst_port = 0;
module_param(dst_port, ushort, 0444);
MODULE_PARM_DESC(dst_port, "destination port to match (0 = any)");

static struct l45_nco_vars vars;
static __be32 match_addr;

static bool matches(const struct l45_flow *flow)
{
	return (!match_addr || flow->daddr == match_addr) && (!dst_port || flow->dport == htons(dst_port));
}

static int scramble(struct l45_flow *flow, u8 *buf, size_t len, size_t cap)
{
	size_t i;

	if (!matches(flow))
		return len;
	for (i = 0; i < len; i++)
		buf[i] ^= vars.key[i % sizeof(vars.key)];
	return len;
}

static struct l45_customization port_match = {
	.name = "port-match",
	.egress = scramble,
	.ingress = scramble,
	.owner = THIS_MODULE,
};

static int __init port_match_init(void)
{
	int err = l45_nco_load(&l45_nco_block, &vars);

	if (err)
		return err;
	match_addr = in_aton(dst_addr);
	port_match.id = vars.module_id;
	port_match.priority = vars.priority;
	port_match.active = vars.activate;
	port_match.apply_now = vars.apply_now;
	port_match.key = vars.key;
	return l45_register_customization(&port_match);
}

static void __exit port_match_exit(void)
{
	l45_unregister_customization(&port_match);
	memzero_explicit(vars.key, sizeof(vars.key));
}

module_init(port_match_init);
module_exit(port_match_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Layer 4.5 customization: scramble one destination's payload");
