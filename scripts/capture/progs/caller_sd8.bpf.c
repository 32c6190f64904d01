// SPDX-License-Identifier: GPL-2.0
/* Direct tail call with an 8-byte stack: the site must `add rsp, 8`
 * before it jumps. */
#include "jmp_table.h"

SEC("tc")
int caller_sd8(struct __sk_buff *skb)
{
	volatile __u64 v = skb->len;

	bpf_tail_call(skb, &jmp_table, 0);
	(void)v;
	return 100;
}
