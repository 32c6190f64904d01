/*
 * unlocked: a broken variant of rfc-2026.c, for pokecheck to find the bug.
 *
 * The 2026 RFC's update (20260102150032.53106-2-leon.hwang@linux.dev, see
 * rfc-2026.c) with the write of the cached target moved out of
 * prog_array_map_poke_run() to after mutex_unlock(&poke_mutex), just
 * before the put of the old program. Two updaters can then write ptrs[key]
 * and the cache in opposite orders, and the cache can keep the entry of a
 * program that is freed. Everything else as in rfc-2026.c (same
 * simplifications: new is already the program, `poke` is the one stable
 * descriptor on key, a delete runs this with new == NULL).
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
	/* The cache is written here, outside poke_mutex. */
	bpf_tail_call_target_update(array, key, new);
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
