;; The hot loop of the explorer's visited set, in WebAssembly: the same
;; algorithm as StateStore.insertBatch in ../state-store.ts (read that first),
;; over the same layout, but in linear memory. Measured on the bench machine,
;; it takes 0.6x the time of the same loop in TypeScript (see
;; docs/performance.md).
;;
;; The JavaScript side (wasm-state-store.ts) owns the layout: it places the
;; regions below in memory, grows them, rehashes the table, and guarantees
;; before each call to `batch` that `n` more states fit without growth. All
;; addresses here are byte offsets; all integers are 32-bit.
;;
;;   src      n states of `w` words (the batch)      hashes  n hashes
;;   parents  n parent indices                       actions n actions
;;   out      n results (new index, or -1 - existing) miss   n scratch
;;   recent   4096 entries of 1 + w words (index + 1, then the state)
;;   words    the stored states, back to back        parentOf, actionOf
;;   table    (slots + SPARE) slots of 8 bytes: index + 1 (0 = empty), hash
(module
;; Shared, so that a pipelined search's expanding thread can read the stored
;; states where they are (explore-pipeline.ts); at most 65536 pages (4 GiB).
  (memory (export "memory") 1 65536 shared)
  (global $w (mut i32) (i32.const 0))
  (global $src (mut i32) (i32.const 0))
  (global $hashes (mut i32) (i32.const 0))
  (global $parents (mut i32) (i32.const 0))
  (global $actions (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))
  (global $miss (mut i32) (i32.const 0))
  (global $recent (mut i32) (i32.const 0))
  (global $words (mut i32) (i32.const 0))
  (global $parentOf (mut i32) (i32.const 0))
  (global $actionOf (mut i32) (i32.const 0))
  (global $table (mut i32) (i32.const 0))
  ;; A state's home slot is hash >>> shift.
  (global $shift (mut i32) (i32.const 0))
  ;; The last slot (slots + SPARE - 1): always left empty, it ends every scan.
  (global $last (mut i32) (i32.const 0))
  (global $count (mut i32) (i32.const 0))
  ;; Misses of the current batch (set by `batch`, read by `lookup`).
  (global $m (mut i32) (i32.const 0))
  (global $useRecent (mut i32) (i32.const 0))
  ;; Sink of the touching loads.
  (global $touched (mut i32) (i32.const 0))

  (func (export "configure")
    (param $w i32) (param $src i32) (param $hashes i32) (param $parents i32) (param $actions i32)
    (param $out i32) (param $miss i32) (param $recent i32) (param $words i32) (param $parentOf i32)
    (param $actionOf i32) (param $table i32) (param $shift i32) (param $last i32)
    (global.set $w (local.get $w))
    (global.set $src (local.get $src))
    (global.set $hashes (local.get $hashes))
    (global.set $parents (local.get $parents))
    (global.set $actions (local.get $actions))
    (global.set $out (local.get $out))
    (global.set $miss (local.get $miss))
    (global.set $recent (local.get $recent))
    (global.set $words (local.get $words))
    (global.set $parentOf (local.get $parentOf))
    (global.set $actionOf (local.get $actionOf))
    (global.set $table (local.get $table))
    (global.set $shift (local.get $shift))
    (global.set $last (local.get $last)))

  (func (export "setCount") (param $c i32) (global.set $count (local.get $c)))
  (func (export "getCount") (result i32) (global.get $count))

  ;; hashWords of ../state-store.ts, bit for bit: w words from byte address $at.
  (func $hash (export "hash") (param $at i32) (result i32)
    (local $h i32) (local $x i32) (local $k i32)
    (local.set $h (i32.xor (i32.const 0x9e3779b9) (global.get $w)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (global.get $w)))
        (local.set $x (i32.load (i32.add (local.get $at) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $x (i32.mul (i32.rotl (i32.mul (local.get $x) (i32.const 0xcc9e2d51)) (i32.const 15)) (i32.const 0x1b873593)))
        (local.set $h (i32.add (i32.mul (i32.rotl (i32.xor (local.get $h) (local.get $x)) (i32.const 13)) (i32.const 5)) (i32.const 0xe6546b64)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))

  ;; Step 1 of insertBatch: hash the n states of the batch (unless
  ;; $hashed: `hashes` holds them); with $useRecent, answer those found in the
  ;; recent-lookups cache; list the rest in `miss`, and return how many.
  ;; $remember (with $useRecent): also enter each of the rest in the cache.
  (func $scan (param $n i32) (param $hashed i32) (param $useRecent i32) (param $remember i32) (result i32)
    (local $j i32) (local $m i32) (local $h i32) (local $at i32) (local $base i32) (local $hit i32)
    (local $bytes i32) (local $k i32) (local $x i32) (local $d i32)
    (local.set $bytes (i32.shl (global.get $w) (i32.const 2)))
    ;; 1. Hash; answer from the recent-lookups cache where it can; list the rest in `miss`.
    (block $done1
      (loop $next1
        (br_if $done1 (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $at (i32.add (global.get $src) (i32.mul (local.get $j) (local.get $bytes))))
        (if (local.get $hashed)
          (then (local.set $h (i32.load (i32.add (global.get $hashes) (i32.shl (local.get $j) (i32.const 2))))))
          (else
            ;; hashWords, inline (V8 does not inline WebAssembly calls).
            (local.set $h (i32.xor (i32.const 0x9e3779b9) (global.get $w)))
            (local.set $k (i32.const 0))
            (block $hashed
              (loop $word
                (br_if $hashed (i32.ge_u (local.get $k) (global.get $w)))
                (local.set $x (i32.load (i32.add (local.get $at) (i32.shl (local.get $k) (i32.const 2)))))
                (local.set $x (i32.mul (i32.rotl (i32.mul (local.get $x) (i32.const 0xcc9e2d51)) (i32.const 15)) (i32.const 0x1b873593)))
                (local.set $h (i32.add (i32.mul (i32.rotl (i32.xor (local.get $h) (local.get $x)) (i32.const 13)) (i32.const 5)) (i32.const 0xe6546b64)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $word)))
            (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
            (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
            (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
            (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
            (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
            (i32.store (i32.add (global.get $hashes) (i32.shl (local.get $j) (i32.const 2))) (local.get $h))))
        (local.set $hit (i32.const 0))
        (if (local.get $useRecent)
          (then
            (local.set $base (i32.add (global.get $recent)
              (i32.mul (i32.and (local.get $h) (i32.const 4095)) (i32.add (local.get $bytes) (i32.const 4)))))
            ;; A hit: the entry is in use and holds this state.
            (local.set $d (i32.eqz (i32.load (local.get $base))))
            (local.set $k (i32.const 0))
            (block $compared
              (loop $word
                (br_if $compared (i32.ge_u (local.get $k) (local.get $bytes)))
                (local.set $d (i32.or (local.get $d)
                  (i32.xor (i32.load offset=4 (i32.add (local.get $base) (local.get $k)))
                           (i32.load (i32.add (local.get $at) (local.get $k))))))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (br $word)))
            (local.set $hit (i32.eqz (local.get $d)))
            (i32.store (i32.add (global.get $out) (i32.shl (local.get $j) (i32.const 2)))
              (select (i32.sub (i32.const 0) (i32.load (local.get $base))) (i32.const 0) (local.get $hit)))))
        (if (i32.and (local.get $remember) (i32.eqz (local.get $hit)))
          (then
            ;; Remember it (a sieve's entries only need to be marked in use).
            (i32.store (local.get $base) (i32.const 1))
            (local.set $k (i32.const 0))
            (loop $word
              (i32.store offset=4 (i32.add (local.get $base) (local.get $k)) (i32.load (i32.add (local.get $at) (local.get $k))))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br_if $word (i32.lt_u (local.get $k) (local.get $bytes))))))
        (i32.store (i32.add (global.get $miss) (i32.shl (local.get $m) (i32.const 2))) (local.get $j))
        (local.set $m (i32.add (local.get $m) (i32.eqz (local.get $hit))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next1)))
    (local.get $m))

  ;; A sieve of successors (wasm/sieve.ts): of the n states in `src`, list in
  ;; `miss` those not among the recent ones, and remember them; `hashes` gets
  ;; every hash. Returns how many are listed. A sieve's instance has no table.
  (func (export "sieve") (param $n i32) (result i32)
    (call $scan (local.get $n) (i32.const 0) (i32.const 1) (i32.const 1)))

  ;; Steps 1 and 2 of insertBatch, then step 3 (`lookup` from 0). Returns what `lookup` returns.
  (func (export "batch") (param $n i32) (param $hashed i32) (param $useRecent i32) (result i32)
    (local $m i32) (local $p i32) (local $acc i32)
    (global.set $useRecent (local.get $useRecent))
    (local.set $m (call $scan (local.get $n) (local.get $hashed) (local.get $useRecent) (i32.const 0)))
    (global.set $m (local.get $m))
    ;; 2. Touch the home slots of the rest: independent loads, overlapped.
    (block $done2
      (loop $next2
        (br_if $done2 (i32.ge_u (local.get $p) (local.get $m)))
        (local.set $acc (i32.xor (local.get $acc)
          (i32.load (i32.add (global.get $table)
            (i32.shl
              (i32.shr_u
                (i32.load (i32.add (global.get $hashes)
                  (i32.shl (i32.load (i32.add (global.get $miss) (i32.shl (local.get $p) (i32.const 2)))) (i32.const 2))))
                (global.get $shift))
              (i32.const 3))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next2)))
    (global.set $touched (local.get $acc))
    (call $lookup (i32.const 0)))

  ;; 3. Look up or insert misses $p.. of the current batch, in order, and
  ;; remember each in the recent-lookups cache. Returns -1 when done, or the
  ;; miss at which a run of the table reached its last slot: the caller
  ;; doubles the table and calls again from there.
  (func $lookup (export "lookup") (param $p i32) (result i32)
    (local $j i32) (local $u i32) (local $h i32) (local $slot i32) (local $id i32) (local $other i32)
    (local $at i32) (local $r i32) (local $end i32) (local $idx i32) (local $base i32) (local $bytes i32)
    (local $stored i32) (local $d i32) (local $k i32)
    (local.set $bytes (i32.shl (global.get $w) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (global.get $m)))
        (local.set $j (i32.load (i32.add (global.get $miss) (i32.shl (local.get $p) (i32.const 2)))))
        (local.set $at (i32.add (global.get $src) (i32.mul (local.get $j) (local.get $bytes))))
        (local.set $u (i32.load (i32.add (global.get $hashes) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $h (i32.shr_u (local.get $u) (global.get $shift)))
        ;; Locate: the slot of the state, or where it belongs.
        (block $found
          (block $absent
            (loop $probe
              (local.set $slot (i32.add (global.get $table) (i32.shl (local.get $h) (i32.const 3))))
              (local.set $id (i32.load (local.get $slot)))
              (br_if $absent (i32.eqz (local.get $id)))
              (local.set $other (i32.load offset=4 (local.get $slot)))
              (br_if $absent (i32.gt_u (local.get $other) (local.get $u)))
              (if (i32.eq (local.get $other) (local.get $u))
                (then
                  (local.set $stored (i32.add (global.get $words) (i32.mul (i32.sub (local.get $id) (i32.const 1)) (local.get $bytes))))
                  (local.set $d (i32.const 0))
                  (local.set $k (i32.const 0))
                  (block $compared
                    (loop $word
                      (br_if $compared (i32.ge_u (local.get $k) (local.get $bytes)))
                      (local.set $d (i32.or (local.get $d)
                        (i32.xor (i32.load (i32.add (local.get $stored) (local.get $k)))
                                 (i32.load (i32.add (local.get $at) (local.get $k))))))
                      (local.set $k (i32.add (local.get $k) (i32.const 4)))
                      (br $word)))
                  (if (i32.eqz (local.get $d))
                    (then
                      ;; Present: -1 - (its index).
                      (local.set $r (i32.sub (i32.const 0) (local.get $id)))
                      (br $found)))))
              (local.set $h (i32.add (local.get $h) (i32.const 1)))
              (br $probe)))
          ;; Absent: insert at slot $h, shifting the rest of its run up one slot.
          (local.set $end (local.get $h))
          (block $endFound
            (loop $scan
              (br_if $endFound (i32.eqz (i32.load (i32.add (global.get $table) (i32.shl (local.get $end) (i32.const 3))))))
              (local.set $end (i32.add (local.get $end) (i32.const 1)))
              (br $scan)))
          (if (i32.ge_u (local.get $end) (global.get $last)) (then (return (local.get $p))))
          (if (i32.gt_u (local.get $end) (local.get $h))
            (then
              ;; Slots h..end-1 move up one, from the top (runs are short:
              ;; a loop beats memory.copy, which V8 compiles to a call).
              (local.set $k (i32.add (global.get $table) (i32.shl (local.get $end) (i32.const 3))))
              (loop $shift
                (i64.store (local.get $k) (i64.load (i32.sub (local.get $k) (i32.const 8))))
                (local.set $k (i32.sub (local.get $k) (i32.const 8)))
                (br_if $shift (i32.gt_u (local.get $k) (local.get $slot))))))
          (local.set $idx (global.get $count))
          (i32.store (local.get $slot) (i32.add (local.get $idx) (i32.const 1)))
          (i32.store offset=4 (local.get $slot) (local.get $u))
          (local.set $stored (i32.add (global.get $words) (i32.mul (local.get $idx) (local.get $bytes))))
          (local.set $k (i32.const 0))
          (loop $word
            (i32.store (i32.add (local.get $stored) (local.get $k)) (i32.load (i32.add (local.get $at) (local.get $k))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br_if $word (i32.lt_u (local.get $k) (local.get $bytes))))
          (i32.store (i32.add (global.get $parentOf) (i32.shl (local.get $idx) (i32.const 2)))
            (i32.load (i32.add (global.get $parents) (i32.shl (local.get $j) (i32.const 2)))))
          (i32.store (i32.add (global.get $actionOf) (i32.shl (local.get $idx) (i32.const 2)))
            (i32.load (i32.add (global.get $actions) (i32.shl (local.get $j) (i32.const 2)))))
          (global.set $count (i32.add (local.get $idx) (i32.const 1)))
          (local.set $r (local.get $idx)))
        (i32.store (i32.add (global.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $r))
        (if (global.get $useRecent)
          (then
            (local.set $base (i32.add (global.get $recent)
              (i32.mul (i32.and (local.get $u) (i32.const 4095)) (i32.add (local.get $bytes) (i32.const 4)))))
            (i32.store (local.get $base)
              (select (i32.sub (i32.const 0) (local.get $r)) (i32.add (local.get $r) (i32.const 1))
                (i32.lt_s (local.get $r) (i32.const 0))))
            (local.set $k (i32.const 0))
            (loop $word
              (i32.store offset=4 (i32.add (local.get $base) (local.get $k)) (i32.load (i32.add (local.get $at) (local.get $k))))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br_if $word (i32.lt_u (local.get $k) (local.get $bytes))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.const -1))
)
