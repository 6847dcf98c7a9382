// SPDX-License-Identifier: GPL-2.0
/* broken: does not compile, on purpose. The tests use it to check build-error handling. */
#include <linux/module.h>
#include "layer4_5.h"
#include "l45_nco.h"

// NCO VARIABLES GO HERE
L45_NCO_VARIABLES(0, "0000000000000000000000000000000000000000000000000000000000000000", 1, 1, 1);
// END NCO VARIABLES

static int __init broken_init(void)
{
	return l45_register_customization(this_symbol_does_not_exist);
}

module_init(broken_init);
MODULE_LICENSE("GPL");
