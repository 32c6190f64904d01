// SPDX-License-Identifier: GPL-2.0
/* Direct tail call, stack depth 0, no callee-saved registers. */
#include "jmp_table.h"

SEC("tc")
int caller_d0(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, 0);
	return 100;
}
