/*
 * v6.7: the per-descriptor tail-call update as an arch hook.
 *
 * Models bpf_arch_poke_desc_update() in arch/x86/net/bpf_jit_comp.c as
 * added by 4b7de801606e "bpf: Fix prog_array_map_poke_run map poke update"
 * (Jiri Olsa, first in Linux 6.7). Same calls, order and conditions as the
 * kernel; the comments are pokecheck's.
 *
 * The order is the one ebf7d1f508a7 gave the update in v5.10 (v5.10.c);
 * what changed: every poke goes through __bpf_arch_text_poke, which does
 * not ask kallsyms whether the address is BPF text, and any negative
 * return is fatal.
 *
 * pokecheck runs this function on each change of ptrs[key] (old -> new),
 * with poke_mutex held by its caller. Each poke and the synchronize_rcu()
 * are one atomic step of the updater; the C around them is evaluated
 * within the step that follows.
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
		ret = __bpf_arch_text_poke(poke->tailcall_target,
					   BPF_MOD_JUMP, old_addr, new_addr);
		BUG_ON(ret < 0);
		/* ... and only on an install, then open the bypass. */
		if (!old) {
			ret = __bpf_arch_text_poke(poke->tailcall_bypass,
						   BPF_MOD_JUMP,
						   poke->bypass_addr, NULL);
			BUG_ON(ret < 0);
		}
	} else {
		/* Delete: close the bypass (jump to out) ... */
		ret = __bpf_arch_text_poke(poke->tailcall_bypass,
					   BPF_MOD_JUMP, old_bypass_addr,
					   poke->bypass_addr);
		BUG_ON(ret < 0);
		/*
		 * ... wait until no CPU can still be between the bypass and
		 * the target (only if the bypass poke wrote something) ...
		 */
		if (!ret)
			synchronize_rcu();
		/* ... then turn the target back into a nop. */
		ret = __bpf_arch_text_poke(poke->tailcall_target,
					   BPF_MOD_JUMP, old_addr, NULL);
		BUG_ON(ret < 0);
	}
}
