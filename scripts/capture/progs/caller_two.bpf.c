// SPDX-License-Identifier: GPL-2.0
/* Two direct sites, keys 0 then 1; ctx stays live in r6 (rbx) across the
 * first one. */
#include "jmp_table.h"

SEC("tc")
int caller_two(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, 0);
	bpf_tail_call(skb, &jmp_table, 1);
	return 101;
}
