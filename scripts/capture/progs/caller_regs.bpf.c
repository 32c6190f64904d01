// SPDX-License-Identifier: GPL-2.0
/* Callee-saved r6-r9 all live across a direct tail call: the prologue
 * pushes rbx, r13, r14, r15 and the site pops them (in reverse) before
 * the jump. */
#include "jmp_table.h"

SEC("tc")
int caller_regs(struct __sk_buff *skb)
{
	__u64 a = skb->len;
	__u64 b = skb->mark;
	__u64 c = skb->priority;
	__u64 d = skb->ifindex;

	bpf_tail_call(skb, &jmp_table, 0);
	/* a..d are read after the call, so they sit in r6-r9. The packet
	 * test_run builds never satisfies this, so the fall-through is 103. */
	if (a * 3 + b * 5 + c * 7 + d * 11 == 0x7fffffffULL)
		return 0;
	return 103;
}
