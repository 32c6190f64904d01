/*
 * A proposal under review, as a kernel engineer would bring it: the v6.7
 * update (pokecheck's protocols/v6.7.c, after 4b7de801606e) with the
 * delete's synchronize_rcu() dropped "because the bypass poke is atomic".
 * The example's test checks it through the library: a CPU that passed the
 * bypass nop before the delete is still between the two sites when the
 * target becomes a nop, and falls through on its unwound frame (P1).
 */
void bpf_arch_poke_desc_update(struct bpf_jit_poke_descriptor *poke,
			       struct bpf_prog *new, struct bpf_prog *old)
{
	u8 *old_addr, *new_addr, *old_bypass_addr;
	int ret;

	old_bypass_addr = old ? NULL : poke->bypass_addr;
	old_addr = old ? (u8 *)old->bpf_func + poke->adj_off : NULL;
	new_addr = new ? (u8 *)new->bpf_func + poke->adj_off : NULL;

	if (new) {
		ret = __bpf_arch_text_poke(poke->tailcall_target,
					   BPF_MOD_JUMP, old_addr, new_addr);
		BUG_ON(ret < 0);
		if (!old) {
			ret = __bpf_arch_text_poke(poke->tailcall_bypass,
						   BPF_MOD_JUMP,
						   poke->bypass_addr, NULL);
			BUG_ON(ret < 0);
		}
	} else {
		ret = __bpf_arch_text_poke(poke->tailcall_bypass,
					   BPF_MOD_JUMP, old_bypass_addr,
					   poke->bypass_addr);
		BUG_ON(ret < 0);
		ret = __bpf_arch_text_poke(poke->tailcall_target,
					   BPF_MOD_JUMP, old_addr, NULL);
		BUG_ON(ret < 0);
	}
}
