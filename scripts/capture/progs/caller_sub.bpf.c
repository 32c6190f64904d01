// SPDX-License-Identifier: GPL-2.0
/* A direct tail call inside a BPF-to-BPF subprogram. The subprogram's
 * prologue has nop2 where a main program has `xor eax, eax`: the tail
 * call counter arrives in rax from the caller. A target reached from the
 * subprogram returns into the main program, which adds 100
 * (fall-through: 104). */
#include "jmp_table.h"

static __attribute__((noinline)) int sub_tail(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, 0);
	/* skb->mark is 0 in test_run; reading it keeps clang from folding
	 * the subprogram's result into the main program. */
	return skb->mark + 4;
}

SEC("tc")
int caller_sub(struct __sk_buff *skb)
{
	return sub_tail(skb) + 100;
}
