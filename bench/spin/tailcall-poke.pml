/*
 * tailcall-poke: one direct BPF tail-call site, NCPU CPUs, one updater.
 *
 * The SPIN twin of pokecheck's `tailcall-poke` model (docs: docs/reference-verdicts.md
 * section 1), written step for step so that verdicts and state counts can be
 * compared with pokecheck's own explorer.
 *
 * Build:   spin -a -DPROTO=<n> -DNCPU=<n> [-DPROPS=<mask>] tailcall-poke.pml
 *          gcc -O2 -DSAFETY -DMEMLIM=<MB> -o pan pan.c
 *          ./pan -m<depth> -w<hash bits>
 *
 *   PROTO  1 = v5.10, 2 = rfc, 3 = no-sync, 4 = bypass-first   (default 1)
 *   NCPU   1..8                                                 (default 2)
 *   PROPS  bit mask of the properties asserted: 1 = P1, 2 = P2, 4 = P3,
 *          8 = P4                                              (default 15)
 *
 * Atomicity: every step of the model is exactly one `d_step`, i.e. one SPIN
 * transition; no other statement of the model is executable (the `do` loops
 * return to their head without a step of their own, gotos are jumps, and the
 * updater's final `false` never executes). All processes are `active`, so
 * there is no `init` process and no `run` step: SPIN's initial state is the
 * model's initial state.
 *
 * Encoding (chosen to keep the state vector small):
 *   P (bypass site)   0 = JMP_OUT, 1 = NOP
 *   T (target site)   0 = NOP, k = JMP_Fk (k = 1..3)
 *   slot              0 = empty, k = fk
 *   life[k-1]         0 = LIVE, 1 = DYING, 2 = FREED
 *   dying[k-1]        bit mask of the CPUs whose read-side section the
 *                     grace period started by `put fk` waits for
 *   sync_mask         bit mask of the CPUs synchronize_rcu still waits for
 *   q[i]              CPU i: 0 idle, 1 bypass, 2 unwind, 3 target, 4 fell,
 *                     4+k = in fk
 * A CPU is a reader (inside rcu_read_lock) iff q[i] != idle.
 *
 * `slot` is written by the xchg steps and never read (CPUs only execute the
 * text), so SPIN's dataflow optimisation leaves it out of the state vector
 * (spin -o2 keeps it). This does not change any count: slot is a function of
 * the updater's pc.
 *
 * Counting: SPIN's "states, stored" is exactly the number of reachable
 * states of the model (cross-checked against an independent BFS for every
 * protocol at N = 2..4); "transitions" is the number of edges + 1 (pan counts
 * the initial state as stored+0 matched after a virtual first transition).
 * Static partial-order reduction changes nothing here: every step reads or
 * writes globals, so no step is "safe" (-DNOREDUCE gives identical counts).
 */

#ifndef PROTO
#define PROTO 1
#endif
#ifndef NCPU
#define NCPU 2
#endif
#ifndef PROPS
#define PROPS 15
#endif
#if NCPU < 1 || NCPU > 8
#error "NCPU must be 1..8 (masks are bytes; CPU_STEPS is unrolled up to 8)"
#endif

#define V510         1
#define RFC          2
#define NOSYNC       3
#define BYPASSFIRST  4

/* sites */
#define JMP_OUT 0
#define NOP     0
#define P_NOP   1
/* life */
#define LIVE    0
#define DYING   1
#define FREED   2
/* CPU local states */
#define IDLE    0
#define BYPASS  1
#define UNWIND  2
#define TARGET  3
#define FELL    4
#define IN_F0   4          /* in fk is IN_F0 + k */

unsigned slot  : 2;
unsigned P     : 1 = JMP_OUT;
unsigned T     : 2 = NOP;
unsigned ebusy : 1;        /* a poke returned -EBUSY (P4) */
byte life[3];
byte dying[3];
byte sync_mask;
byte q[NCPU];

/* Names that appear in pan's "assertion violated" message (never written). */
hidden byte P1_no_cpu_fell_through;
hidden byte P2_no_use_after_free;
hidden byte P3_text_never_in_state_A;
hidden byte P4_no_poke_ebusy;

/* FOLD(f, op): (f(0) op f(1) op ... op f(NCPU-1)) */
#if NCPU > 1
#define X1(f, op) op f(1)
#else
#define X1(f, op)
#endif
#if NCPU > 2
#define X2(f, op) op f(2)
#else
#define X2(f, op)
#endif
#if NCPU > 3
#define X3(f, op) op f(3)
#else
#define X3(f, op)
#endif
#if NCPU > 4
#define X4(f, op) op f(4)
#else
#define X4(f, op)
#endif
#if NCPU > 5
#define X5(f, op) op f(5)
#else
#define X5(f, op)
#endif
#if NCPU > 6
#define X6(f, op) op f(6)
#else
#define X6(f, op)
#endif
#if NCPU > 7
#define X7(f, op) op f(7)
#else
#define X7(f, op)
#endif
#define FOLD(f, op) (f(0) X1(f, op) X2(f, op) X3(f, op) X4(f, op) X5(f, op) X6(f, op) X7(f, op))

#define READER_BIT(i)  (q[i] != IDLE -> (1 << i) : 0)
#define READERS        FOLD(READER_BIT, |)

#define FELL_AT(i)     (q[i] == FELL)
#define UAF_AT(i)      (q[i] > IN_F0 && life[q[i] - IN_F0 - 1] == FREED)

#if (PROPS & 1)
#define P1_OK  (!FOLD(FELL_AT, ||))
#else
#define P1_OK  true
#endif
#if (PROPS & 2)
#define P2_OK  (!FOLD(UAF_AT, ||))
#else
#define P2_OK  true
#endif
#if (PROPS & 4)
#define P3_OK  (!(P == P_NOP && T == NOP))
#else
#define P3_OK  true
#endif
#if (PROPS & 8)
#define P4_OK  (!ebusy)
#else
#define P4_OK  true
#endif

/* rcu_read_unlock of CPU i: back to idle, leave every grace period */
#define LEAVE(i) \
	q[i] = IDLE; \
	sync_mask = sync_mask & ~(1 << i); \
	dying[0] = dying[0] & ~(1 << i); \
	dying[1] = dying[1] & ~(1 << i); \
	dying[2] = dying[2] & ~(1 << i)

/* ---------------------------------------------------------------- pokes */
/*
 * Checked poke (bpf_arch_text_poke with an expected old instruction), one
 * step: holds Y -> returns 1, no write; holds X -> writes Y, returns 0;
 * else -EBUSY: P4 violated, BUG_ON, the updater stops for good.
 * The return value is encoded in which branch the updater took (its pc),
 * so it needs no variable of its own.
 */
#define POKE(site, X, Y) \
	if \
	:: d_step { site == Y -> skip } \
	:: d_step { site != Y && site == X -> site = Y } \
	:: d_step { site != Y && site != X -> ebusy = 1 }; goto end_halt \
	fi

/* Unchecked poke (rfc): just writes Y; its return value is never used. */
#define POKE_RFC(site, Y)  d_step { site = Y }

/* put fj: the last reference goes in the default script; a grace period
 * starts that waits for the current readers. */
#define PUT(j)  d_step { life[j - 1] = DYING; dying[j - 1] = READERS }

/* install fk, slot empty */
#if PROTO == RFC
#define INSTALL(k) \
	d_step { slot = k }; \
	POKE_RFC(T, k); \
	POKE_RFC(P, P_NOP)
#elif PROTO == BYPASSFIRST
#define INSTALL(k) \
	d_step { slot = k }; \
	POKE(P, JMP_OUT, P_NOP); \
	POKE(T, NOP, k)
#else
#define INSTALL(k) \
	d_step { slot = k }; \
	POKE(T, NOP, k); \
	POKE(P, JMP_OUT, P_NOP)
#endif

/* update fj -> fk */
#if PROTO == RFC
#define UPDATE(j, k) \
	d_step { slot = k }; \
	POKE_RFC(T, k); \
	PUT(j)
#else
#define UPDATE(j, k) \
	d_step { slot = k }; \
	POKE(T, j, k); \
	PUT(j)
#endif

/* remove fj */
#if PROTO == RFC
#define REMOVE(j) \
	d_step { slot = 0 }; \
	POKE_RFC(P, JMP_OUT); \
	PUT(j)
#elif PROTO == NOSYNC
#define REMOVE(j) \
	d_step { slot = 0 }; \
	POKE(P, P_NOP, JMP_OUT); \
	POKE(T, j, NOP); \
	PUT(j)
#else
/* v5.10 and bypass-first: synchronize_rcu only if the bypass poke wrote. */
#define REMOVE(j) \
	d_step { slot = 0 }; \
	if \
	:: d_step { P == JMP_OUT -> skip } \
	:: d_step { P != JMP_OUT && P == P_NOP -> P = JMP_OUT }; \
	   d_step { sync_mask = READERS };           /* sync_start */ \
	   d_step { sync_mask == 0 -> skip }          /* sync_wait  */ \
	:: d_step { P != JMP_OUT && P != P_NOP -> ebusy = 1 }; goto end_halt \
	fi; \
	POKE(T, j, NOP); \
	PUT(j)
#endif

/* -------------------------------------------------------------- updater */
active proctype updater()
{
	INSTALL(1);
	UPDATE(1, 2);
	REMOVE(2);
	INSTALL(3);
	/* Script done (or -EBUSY): the updater stays here for good. This
	 * statement never executes, so "done" is one pc, not an extra step. */
end_halt:
	false
}

/* ------------------------------------------------ CPUs, RCU and monitor */
/*
 * CPU i, one d_step per line of the model. CPUs loop forever; `fell` has no
 * further step (the CPU stays a reader).
 */
#define CPU_STEPS(i) \
	:: d_step { q[i] == IDLE -> q[i] = BYPASS }               /* rcu_read_lock, enter */ \
	:: d_step { q[i] == BYPASS && P == JMP_OUT -> LEAVE(i) }  /* jmp out */ \
	:: d_step { q[i] == BYPASS && P == P_NOP -> q[i] = UNWIND } \
	:: d_step { q[i] == UNWIND -> q[i] = TARGET }             /* frame unwound */ \
	:: d_step { q[i] == TARGET && T == NOP -> q[i] = FELL }   /* P1 */ \
	:: d_step { q[i] == TARGET && T != NOP -> q[i] = IN_F0 + T } \
	:: d_step { q[i] > IN_F0 -> LEAVE(i) }                    /* fk returns */

/*
 * One process runs the steps of all CPUs, of the RCU actor and of the
 * monitor: every option is one d_step and the `do` returns to its head
 * without a step, so this process's pc never changes and costs 4 bytes of
 * state vector instead of 4 per CPU (a process per CPU gives exactly the same
 * states and transitions, only a larger vector).
 */
active proctype env()
{
end_env:
	do
	/* Monitor: checks the invariant in every state; enabled only in a
	 * violating state, so it adds no state while the properties hold. pan
	 * tries the processes from the highest _pid down and a process's options
	 * in order, so declaring env after the updater and putting the monitor
	 * first makes it the first successor of a violating state: the assertion
	 * reported is the property that the first violating state on the path
	 * breaks (P1 before P2 before P3 before P4 if it breaks several). */
	:: d_step {
		!(P1_OK && P2_OK && P3_OK && P4_OK) ->
		assert(P1_no_cpu_fell_through || P1_OK);
		assert(P2_no_use_after_free || P2_OK);
		assert(P3_text_never_in_state_A || P3_OK);
		assert(P4_no_poke_ebusy || P4_OK)
	   }
	CPU_STEPS(0)
#if NCPU > 1
	CPU_STEPS(1)
#endif
#if NCPU > 2
	CPU_STEPS(2)
#endif
#if NCPU > 3
	CPU_STEPS(3)
#endif
#if NCPU > 4
	CPU_STEPS(4)
#endif
#if NCPU > 5
	CPU_STEPS(5)
#endif
#if NCPU > 6
	CPU_STEPS(6)
#endif
#if NCPU > 7
	CPU_STEPS(7)
#endif
	/* RCU actor: a grace period is over when no CPU it waits for is left */
	:: d_step { life[0] == DYING && dying[0] == 0 -> life[0] = FREED }   /* free f1 */
	:: d_step { life[1] == DYING && dying[1] == 0 -> life[1] = FREED }   /* free f2 */
	:: d_step { life[2] == DYING && dying[2] == 0 -> life[2] = FREED }   /* free f3 */
	od
}
