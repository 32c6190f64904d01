/*
 * rfc: the update of Maciej Fijalkowski's RFC "bpf: tailcalls in BPF
 * subprograms" (2 Jul 2020, 20200702134930.4717-1-maciej.fijalkowski@intel.com),
 * where the second patch site ("ip_aux", later tailcall_bypass) appeared.
 *
 * The RFC never goes back to state C: a delete only closes the bypass and
 * leaves the stale jump in the target. It did not pass the old address
 * down; it worked out what each site held from its bytes (nop5, or the
 * jump's rel32) and passed that as old, so the poke's check of the old
 * bytes could not fail. pokecheck_current_target(site) stands for that
 * computation; pokecheck evaluates it inside the poke that takes it (the
 * RFC read the bytes just before, under poke_mutex, and only updaters
 * write these sites, so nothing can change in between).
 *
 * Written in the v6.7 shape (bpf_arch_poke_desc_update); in the RFC this
 * was inline in prog_array_map_poke_run(). Where this file differs from the
 * RFC's code, and why it does not change what tailcall-poke can find:
 *  - the RFC called bpf_arch_text_poke and had BUG_ON(ret < 0 && ret !=
 *    -EINVAL); in tailcall-poke the caller is always in kallsyms (no
 *    -EINVAL), the faked old bytes always match (no -EBUSY) and the
 *    addresses are in range (no -ERANGE), so the poke is written here as
 *    __bpf_arch_text_poke without a BUG_ON, and P4 is not checked;
 *  - on an update the RFC also re-poked the bypass from nop to nop, which
 *    writes nothing; pokecheck has always left that step out.
 */
void bpf_arch_poke_desc_update(struct bpf_jit_poke_descriptor *poke,
			       struct bpf_prog *new, struct bpf_prog *old)
{
	if (new) {
		/* Install or update: point the target at the new program ... */
		__bpf_arch_text_poke(poke->tailcall_target, BPF_MOD_JUMP,
				     pokecheck_current_target(poke->tailcall_target),
				     (u8 *)new->bpf_func + poke->adj_off);
		/* ... and on an install, open the bypass. */
		if (!old)
			__bpf_arch_text_poke(poke->tailcall_bypass, BPF_MOD_JUMP,
					     pokecheck_current_target(poke->tailcall_bypass),
					     NULL);
	} else {
		/* Delete: close the bypass only; the target keeps its jump (state D). */
		__bpf_arch_text_poke(poke->tailcall_bypass, BPF_MOD_JUMP,
				     pokecheck_current_target(poke->tailcall_bypass),
				     poke->bypass_addr);
	}
}
