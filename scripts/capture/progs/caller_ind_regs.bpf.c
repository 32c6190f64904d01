// SPDX-License-Identifier: GPL-2.0
/* Indirect tail call (key = skb->mark) with callee-saved registers live
 * across it and an 8-byte stack: the indirect sequence must pop them and
 * `add rsp, 8` before `jmp *rcx` / the retpoline thunk. */
#include "jmp_table.h"

SEC("tc")
int caller_ind_regs(struct __sk_buff *skb)
{
	volatile __u64 v = skb->len;
	__u64 a = skb->priority;
	__u64 b = skb->ifindex;

	bpf_tail_call(skb, &jmp_table, skb->mark);
	if (a * 3 + b * 5 + v == 0x7fffffffULL)
		return 0;
	return 105;
}
