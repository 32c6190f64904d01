/*
 * v5.5 .. v5.9: the tail-call update of the first direct tail calls,
 * da765a2f5993 "bpf: Add poke dependency tracking for prog array maps" and
 * 428d5df1fa4f "bpf, x86: Emit patchable direct jump as tail call" (Daniel
 * Borkmann, first in Linux 5.5), before ebf7d1f508a7 added the bypass site
 * in v5.10 (v5.10.c).
 *
 * The v5.5 layout has one patch site per descriptor, poke->ip (renamed
 * poke->tailcall_target in v5.10, the name pokecheck reads here): nop5 while
 * the slot is empty, `jmp new->bpf_func + adj_off` (adj_off = PROLOGUE_SIZE,
 * 25) once a program is in. prog_array_map_poke_run() pokes it from the old
 * program to the new one in a single call, inline in its walk over the
 * tracked descriptors (skipping any whose ip_stable is not set yet);
 * pokecheck reads that call in the v6.7 shape, bpf_arch_poke_desc_update(poke,
 * new, old). There is no second site, so no unwound frame between two pokes
 * and no synchronize_rcu().
 *
 * The poke goes through bpf_arch_text_poke, which returns -EINVAL while
 * kallsyms does not know the image as BPF text (during load and unload),
 * and that return is tolerated, as the walk's comment explains:
 * BUG_ON(ret < 0 && ret != -EINVAL). The skipped poke is the race
 * tailcall-load-race finds; it lasted until 4b7de801606e (v6.7.c).
 *
 * The poke is one atomic step of the updater.
 */
void bpf_arch_poke_desc_update(struct bpf_jit_poke_descriptor *poke,
			       struct bpf_prog *new, struct bpf_prog *old)
{
	u8 *old_addr, *new_addr;
	int ret;

	old_addr = old ? (u8 *)old->bpf_func + poke->adj_off : NULL;
	new_addr = new ? (u8 *)new->bpf_func + poke->adj_off : NULL;

	/* The one site, from what the old program put there to the new one. */
	ret = bpf_arch_text_poke(poke->tailcall_target, BPF_MOD_JUMP,
				 old_addr, new_addr);
	BUG_ON(ret < 0 && ret != -EINVAL);
}
