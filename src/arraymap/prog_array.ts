/**
 * The prog array (BPF_MAP_TYPE_PROG_ARRAY, kernel/bpf/arraymap.c), sequential:
 * `ptrs[]`, the `poke_mutex`, the tracked programs (`map_poke_track` /
 * `map_poke_untrack`) and `prog_array_map_poke_run`, which re-pokes every
 * stable descriptor on the changed key with `bpf_arch_poke_desc_update`.
 *
 * Concurrency is the explorer's business: here every call runs to completion
 * (a single thread, so `poke_mutex` is only asserted, never contended).
 */
import type { BpfJitPokeDescriptor } from '../jit/x86/tailcall.js';
import { bpf_arch_poke_desc_update, type PokeEnv, type PokeProtocol } from './poke_desc_update.js';
import type { BpfProg } from './prog.js';

/** `struct bpf_prog_aux` as the tracker sees it: the program's poke table. */
export interface BpfProgAux {
  readonly name: string;
  readonly poke_tab: BpfJitPokeDescriptor[];
}

export class MapError extends Error {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }
}

export class BpfProgArray {
  readonly ptrs: (BpfProg | null)[];
  /** `array->aux->poke_progs`, in tracking order. */
  readonly poke_progs: BpfProgAux[] = [];
  private poke_mutex_held = false;

  constructor(
    readonly name: string,
    readonly max_entries: number,
    private readonly env: PokeEnv,
    private readonly protocol: PokeProtocol,
    /** Called with the old program after it left the map (the map's reference is put). */
    private readonly bpf_prog_put: (prog: BpfProg) => void = () => {},
  ) {
    this.ptrs = new Array(max_entries).fill(null);
  }

  map_poke_track(aux: BpfProgAux): void {
    this.lock();
    if (!this.poke_progs.includes(aux)) this.poke_progs.push(aux);
    this.unlock();
  }

  map_poke_untrack(aux: BpfProgAux): void {
    this.lock();
    const i = this.poke_progs.indexOf(aux);
    if (i >= 0) this.poke_progs.splice(i, 1);
    this.unlock();
  }

  /** `prog_array_map_poke_run(map, key, old, new)`; the caller holds poke_mutex. */
  map_poke_run(key: number, old: BpfProg | null, new_: BpfProg | null): void {
    if (!this.poke_mutex_held) throw new Error('WARN_ON_ONCE(!mutex_is_locked(&aux->poke_mutex))');
    for (const aux of this.poke_progs) {
      for (const poke of aux.poke_tab) {
        if (!poke.tailcall_target_stable) continue;
        if (poke.reason !== 'BPF_POKE_REASON_TAIL_CALL') continue;
        if (poke.tail_call.map !== this.name || poke.tail_call.key !== key) continue;
        bpf_arch_poke_desc_update(this.env, this.protocol, poke, new_, old);
      }
    }
  }

  /** `bpf_fd_array_map_update_elem` with the program itself standing for its fd. */
  bpf_fd_array_map_update_elem(key: number, new_: BpfProg): void {
    this.checkKey(key);
    this.lock();
    const old = this.ptrs[key];
    this.ptrs[key] = new_; // xchg
    this.map_poke_run(key, old, new_);
    this.unlock();
    if (old) this.bpf_prog_put(old);
  }

  /** `fd_array_map_delete_elem`: -ENOENT when the slot was empty. */
  fd_array_map_delete_elem(key: number): void {
    this.checkKey(key);
    this.lock();
    const old = this.ptrs[key];
    this.ptrs[key] = null; // xchg
    this.map_poke_run(key, old, null);
    this.unlock();
    if (!old) throw new MapError(-2, `delete of empty key ${key}: -ENOENT`);
    this.bpf_prog_put(old);
  }

  private checkKey(key: number): void {
    if (!Number.isInteger(key) || key < 0 || key >= this.max_entries) throw new MapError(-7, `key ${key} out of range: -E2BIG`);
  }

  private lock(): void {
    if (this.poke_mutex_held) throw new Error('poke_mutex: recursive lock');
    this.poke_mutex_held = true;
  }

  private unlock(): void {
    this.poke_mutex_held = false;
  }
}
