/** A loaded BPF program, as far as poking is concerned: its JIT image. */
export interface BpfProg {
  readonly name: string;
  /** `prog->bpf_func`: the image's entry. Tail calls land at bpf_func + X86_TAIL_CALL_OFFSET. */
  readonly bpf_func: bigint;
  readonly len: number;
}
