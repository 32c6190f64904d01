// SPDX-License-Identifier: GPL-2.0
/* Loaded while jmp_table[0] and jmp_table[1] are already populated: the
 * JIT's end-of-compile fixup (bpf_tail_call_direct_fixup) installs both
 * targets before the program is published. Same body as caller_two. */
#include "jmp_table.h"

SEC("tc")
int caller_prepop(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, 0);
	bpf_tail_call(skb, &jmp_table, 1);
	return 106;
}
