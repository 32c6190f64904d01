// SPDX-License-Identifier: GPL-2.0
/* Tail-call targets. Each returns a value no caller falls through with,
 * so test_run's retval tells which program ran last. */
#include "jmp_table.h"

SEC("tc")
int target1(struct __sk_buff *skb)
{
	return 1;
}

SEC("tc")
int target2(struct __sk_buff *skb)
{
	return 2;
}

/* A target with a 32-byte stack, so its tail-call entry is followed by
 * `sub rsp, 32` instead of the body. */
SEC("tc")
int target3(struct __sk_buff *skb)
{
	volatile __u64 a = skb->len, b = skb->mark;
	volatile __u64 c = a + b;
	volatile __u64 d = c;

	(void)d;
	return 3;
}
