// SPDX-License-Identifier: GPL-2.0
/* Indirect tail call: the key is skb->mark, which the verifier cannot
 * know, so the JIT emits the bounds/NULL-checking sequence and jumps
 * through rcx. */
#include "jmp_table.h"

SEC("tc")
int caller_ind(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, skb->mark);
	return 102;
}
