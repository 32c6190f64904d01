/*
 * rfc-2026: the prog-array update of Leon Hwang's RFC "bpf: tailcall:
 * Eliminate max_entries and bpf_func access at runtime" (2 Jan 2026,
 * patch 1/4: 20260102150032.53106-2-leon.hwang@linux.dev; not merged).
 *
 * Next to ptrs[key] the array keeps ptrs[max_entries + key], the tail-call
 * entry of the program in ptrs[key] (or 0), which the indirect tail call
 * jumps to without reading the program. prog_array_map_poke_run() writes it
 * with xchg first, under poke_mutex, and then re-pokes the direct
 * descriptors with the v6.7 bpf_arch_poke_desc_update() (4b7de801606e).
 *
 * Written after bpf_fd_array_map_update_elem(), prog_array_map_poke_run()
 * and bpf_arch_poke_desc_update() of kernel/bpf/arraymap.c and
 * arch/x86/net/bpf_jit_comp.c with the RFC applied; same calls, order and
 * conditions, the comments are pokecheck's. What pokecheck leaves to its
 * own machinery: the fd lookup (new is already the program), the walk over
 * the tracked programs' poke tables (`poke` in prog_array_map_poke_run is
 * the one stable descriptor on key), and the close of each fd.
 * A delete (__fd_array_map_delete_elem) takes the same locked xchg, poke
 * run and put; pokecheck runs this update with new == NULL for it.
 *
 * Each call below that touches shared state (the lock, an xchg, a poke,
 * synchronize_rcu, the put) is one atomic step of the updater.
 */
static void bpf_tail_call_target_update(struct bpf_array *array, u32 key,
					struct bpf_prog *new)
{
	/* The indirect tail call lands on the entry past the prologue. */
	xchg(&array->ptrs[array->map.max_entries + key],
	     new ? (u8 *)new->bpf_func + bpf_arch_tail_call_prologue_offset() : NULL);
}

static void prog_array_map_poke_run(struct bpf_map *map, u32 key,
				    struct bpf_prog *old, struct bpf_prog *new)
{
	struct bpf_array *array = container_of(map, struct bpf_array, map);

	WARN_ON_ONCE(!mutex_is_locked(&array->aux->poke_mutex));
	bpf_tail_call_target_update(array, key, new);
	/* For the stable descriptor on key (pokecheck's walk): */
	bpf_arch_poke_desc_update(poke, new, old);
}

long bpf_fd_array_map_update_elem(struct bpf_map *map, u32 key,
				  struct bpf_prog *new)
{
	struct bpf_array *array = container_of(map, struct bpf_array, map);
	struct bpf_prog *old;

	mutex_lock(&array->aux->poke_mutex);
	old = xchg(&array->ptrs[key], new);
	prog_array_map_poke_run(map, key, old, new);
	mutex_unlock(&array->aux->poke_mutex);
	/* The map's reference to the old program. */
	if (old)
		bpf_prog_put(old);
	return 0;
}

/* As in v6.7.c (4b7de801606e). */
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
