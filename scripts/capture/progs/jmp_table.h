/* SPDX-License-Identifier: GPL-2.0 */
/* pokecheck capture: the one PROG_ARRAY every capture program shares.
 * Each object declares it with the same definition; the loader creates it
 * once (with the targets) and hands the same fd to every other object
 * (bpf_map__reuse_fd), so one map update pokes every caller. */
#ifndef POKECAP_JMP_TABLE_H
#define POKECAP_JMP_TABLE_H
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} jmp_table SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
#endif
