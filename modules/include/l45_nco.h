/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The NCO block: the per-host variables of a customization module (module id, key, active
 * mode, priority, applyNow), kept in one 128-byte, magic-marked block in its own section.
 * The NCO either compiles them in (the NCO VARIABLES markers) or compiles once and then
 * overwrites the block in the built .ko for each host ("stamping"); see docs/nco-block.md.
 */
#ifndef L45_NCO_H
#define L45_NCO_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/string.h>
#include <linux/kernel.h>

#define L45_NCO_MAGIC "L45-NCO-BLOCK-1"   /* 15 characters + NUL = 16 bytes */
#define L45_NCO_VERSION 1

struct l45_nco_block {
	char magic[16];
	__le32 version;
	__le16 module_id;
	u8 activate;
	u8 apply_now;
	__le32 priority;
	char hex_key[65];       /* 64 hex digits + NUL */
	u8 reserved[35];
} __packed;                     /* 128 bytes */

/*
 * Written by the NCO between the markers. volatile: the values are read from the block at
 * load time, never folded into code, so a stamped .ko behaves as a recompiled one.
 */
#define L45_NCO_VARIABLES(module_id_, hex_key_, activate_, priority_, apply_now_)              \
	static volatile const struct l45_nco_block l45_nco_block                                \
		__used __section(".l45_nco") __aligned(8) = {                                   \
		.magic = L45_NCO_MAGIC, .version = cpu_to_le32(L45_NCO_VERSION),                \
		.module_id = cpu_to_le16(module_id_), .activate = (activate_),                 \
		.apply_now = (apply_now_), .priority = cpu_to_le32(priority_),                 \
		.hex_key = hex_key_ }

struct l45_nco_vars {
	u16 module_id;
	bool activate;
	bool apply_now;
	u32 priority;
	u8 key[32];
};

/* Copies the block out (hiding it from the optimiser) and decodes the key. */
static inline int l45_nco_load(const volatile struct l45_nco_block *blk, struct l45_nco_vars *out)
{
	struct l45_nco_block copy;
	const void *p = (const void *)blk;

	OPTIMIZER_HIDE_VAR(p);
	memcpy(&copy, p, sizeof(copy));
	if (memcmp(copy.magic, L45_NCO_MAGIC, sizeof(copy.magic)) || le32_to_cpu(copy.version) != L45_NCO_VERSION)
		return -EINVAL;
	out->module_id = le16_to_cpu(copy.module_id);
	out->activate = copy.activate;
	out->apply_now = copy.apply_now;
	out->priority = le32_to_cpu(copy.priority);
	if (out->module_id == 0)
		return -EINVAL;         /* an unstamped template must not load */
	return hex2bin(out->key, copy.hex_key, sizeof(out->key));
}

#endif
