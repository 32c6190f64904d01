/*
 * no-sync: a broken variant of v5.10.c, for pokecheck to find the bug.
 *
 * v5.10's update (ebf7d1f508a7, see v5.10.c) without the synchronize_rcu()
 * between the two pokes of a delete. The v1 changelog of that series says
 * the grace period was added on review (Alexei Starovoitov) so that a CPU
 * already past the bypass cannot meet the target nop; without it a CPU can
 * run nop, unwind, nop: state A. Everything else as in v5.10.c.
 */
void bpf_arch_poke_desc_update(struct bpf_jit_poke_descriptor *poke,
			       struct bpf_prog *new, struct bpf_prog *old)
{
	u8 *old_addr, *new_addr, *old_bypass_addr;
	int ret;

	/* What the bypass holds now: a nop while a program is in, else jmp out. */
	old_bypass_addr = old ? NULL : poke->bypass_addr;
	old_addr = old ? (u8 *)old->bpf_func + poke->adj_off : NULL;
	new_addr = new ? (u8 *)new->bpf_func + poke->adj_off : NULL;

	if (new) {
		/* Install or update: the target jump first ... */
		ret = bpf_arch_text_poke(poke->tailcall_target,
					 BPF_MOD_JUMP, old_addr, new_addr);
		BUG_ON(ret < 0 && ret != -EINVAL);
		/* ... and only on an install, then open the bypass. */
		if (!old) {
			ret = bpf_arch_text_poke(poke->tailcall_bypass,
						 BPF_MOD_JUMP,
						 poke->bypass_addr, NULL);
			BUG_ON(ret < 0 && ret != -EINVAL);
		}
	} else {
		/* Delete: close the bypass (jump to out) ... */
		ret = bpf_arch_text_poke(poke->tailcall_bypass,
					 BPF_MOD_JUMP, old_bypass_addr,
					 poke->bypass_addr);
		BUG_ON(ret < 0 && ret != -EINVAL);
		/*
		 * (v5.10 waits for a grace period here; this variant does
		 * not.)
		 */
		/* ... then turn the target back into a nop. */
		ret = bpf_arch_text_poke(poke->tailcall_target,
					 BPF_MOD_JUMP, old_addr, NULL);
		BUG_ON(ret < 0 && ret != -EINVAL);
	}
}
