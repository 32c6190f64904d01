# 1. import paths and file mentions into src/jit's new folders
s#(jit/)(x86|att|decode|regs|emit|emit-alu|emit-mem|prologue|tailcall|tailcall_cached|do_jit|dispatcher|config|env|profile|program|caller)\.(js|ts)\b#\1x86/\2.\3#g
s#(jit/)arm64\.(js|ts)\b#\1arm64/insn.\2#g
s#(jit/)(fixture|fixture-config|verify|rejit)\.(js|ts)\b#\1oracle/\2.\3#g
# 2. citations of the notes that were outside the repository (same section numbers)
s#\(docs: kernel-poke-facts #(docs/kernel-facts.md #g
s#\(docs: reference-models(\.md)? #(docs/reference-verdicts.md #g
s#kernel-poke-facts(\.md)?#docs/kernel-facts.md#g
s#reference-models(\.md)?#docs/reference-verdicts.md#g
# 3. the x86 layouts' private letters
s#\bE1 layout\b#v5.5 layout#g
s#\bE2 layout\b#v5.10-6.11 layout#g
s#\bE3 layout\b#v6.12+ layout#g
s#\(E3, no IBT\)#(layout v6.12+, no IBT)#g
s#real E3 (JIT )?section#real v6.12+ \1section#g
