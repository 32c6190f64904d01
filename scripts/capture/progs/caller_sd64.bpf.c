// SPDX-License-Identifier: GPL-2.0
/* Direct tail call with a 64-byte stack. */
#include "jmp_table.h"

SEC("tc")
int caller_sd64(struct __sk_buff *skb)
{
	volatile __u64 a[8];

	a[0] = skb->len;
	a[1] = a[0];
	a[2] = a[1];
	a[3] = a[2];
	a[4] = a[3];
	a[5] = a[4];
	a[6] = a[5];
	a[7] = a[6];
	bpf_tail_call(skb, &jmp_table, 0);
	(void)a[7];
	return 100;
}
