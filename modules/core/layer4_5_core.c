// SPDX-License-Identifier: GPL-2.0
/*
 * A stub of the Layer 4.5 core: it exports the customization API so that customization
 * modules link against it (its Module.symvers is what a DCA uploads to the NCO). The real
 * core hooks the socket layer; this one only keeps the registry.
 */
#include <linux/module.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include "layer4_5.h"

#define L45_MAX 256
static struct l45_customization *registry[L45_MAX];
static DEFINE_MUTEX(registry_lock);

int l45_register_customization(struct l45_customization *c)
{
	int i, free = -1;

	mutex_lock(&registry_lock);
	for (i = 0; i < L45_MAX; i++) {
		if (registry[i] && (registry[i]->id == c->id || registry[i]->priority == c->priority)) {
			mutex_unlock(&registry_lock);
			return -EEXIST;
		}
		if (!registry[i] && free < 0)
			free = i;
	}
	if (free >= 0)
		registry[free] = c;
	mutex_unlock(&registry_lock);
	return free >= 0 ? 0 : -ENOSPC;
}
EXPORT_SYMBOL_GPL(l45_register_customization);

void l45_unregister_customization(struct l45_customization *c)
{
	int i;

	mutex_lock(&registry_lock);
	for (i = 0; i < L45_MAX; i++)
		if (registry[i] == c)
			registry[i] = NULL;
	mutex_unlock(&registry_lock);
}
EXPORT_SYMBOL_GPL(l45_unregister_customization);

int l45_flow_set_tag(struct l45_flow *flow, u32 tag)
{
	flow->tag = tag;
	return 0;
}
EXPORT_SYMBOL_GPL(l45_flow_set_tag);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Layer 4.5 core (stub exporting the customization API)");
