/*
 * v5.10 .. v6.6: the tail-call update of ebf7d1f508a7 "bpf, x64: rework
 * pro/epilogue and tailcall handling in JIT" (Maciej Fijalkowski, first in
 * Linux 5.10), before 4b7de801606e moved it into an arch hook.
 *
 * In those kernels this code sat inline in prog_array_map_poke_run()
 * (kernel/bpf/arraymap.c), inside its walk over the tracked descriptors;
 * pokecheck reads it in the v6.7 shape, bpf_arch_poke_desc_update(poke,
 * new, old), which the walk calls once per descriptor. Same calls, order
 * and conditions as the kernel; the comments are pokecheck's.
 *
 * The pokes go through bpf_arch_text_poke, which returns -EINVAL while
 * kallsyms does not know the image as BPF text (during load and unload),
 * and that return is tolerated: BUG_ON(ret < 0 && ret != -EINVAL). The
 * skipped poke is the race tailcall-load-race finds (fixed in v6.7.c).
 *
 * Each poke and the synchronize_rcu() are one atomic step of the updater;
 * the C around them is evaluated within the step that follows.
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
		 * ... wait until no CPU can still be between the bypass and
		 * the target (only if the bypass poke wrote something) ...
		 */
		if (!ret)
			synchronize_rcu();
		/* ... then turn the target back into a nop. */
		ret = bpf_arch_text_poke(poke->tailcall_target,
					 BPF_MOD_JUMP, old_addr, NULL);
		BUG_ON(ret < 0 && ret != -EINVAL);
	}
}
