// SPDX-License-Identifier: GPL-2.0
/*
 * dns-tag: tags every DNS flow (UDP or TCP to port 53) with a tag derived from the module id,
 * through the core's l45_flow_set_tag(), so middleboxes and the far end can tell customised
 * DNS from the rest. The inverse module (a Wireshark dissector) decodes the tag.
 */
#include <linux/module.h>
#include <linux/in.h>
#include "layer4_5.h"
#include "l45_nco.h"

// NCO VARIABLES GO HERE
L45_NCO_VARIABLES(0, "0000000000000000000000000000000000000000000000000000000000000000", 1, 1, 1);
// END NCO VARIABLES

#define DNS_TAG_BASE 0x4c450000u   /* "LE" in the high half, module id in the low half */

static struct l45_nco_vars vars;

static int dns_tag_egress(struct l45_flow *flow, u8 *buf, size_t len, size_t cap)
{
	if (flow->dport == htons(53) && (flow->protocol == IPPROTO_UDP || flow->protocol == IPPROTO_TCP))
		l45_flow_set_tag(flow, DNS_TAG_BASE | vars.module_id);
	return len;
}

static struct l45_customization dns_tag = {
	.name = "dns-tag",
	.egress = dns_tag_egress,
	.owner = THIS_MODULE,
};

static int __init dns_tag_init(void)
{
	int err = l45_nco_load(&l45_nco_block, &vars);

	if (err)
		return err;
	dns_tag.id = vars.module_id;
	dns_tag.priority = vars.priority;
	dns_tag.active = vars.activate;
	dns_tag.apply_now = vars.apply_now;
	dns_tag.key = vars.key;
	return l45_register_customization(&dns_tag);
}

static void __exit dns_tag_exit(void)
{
	l45_unregister_customization(&dns_tag);
	memzero_explicit(vars.key, sizeof(vars.key));
}

module_init(dns_tag_init);
module_exit(dns_tag_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Layer 4.5 customization: tag DNS flows");
