// Where the linker put the plan: two exported mutable globals whose sentinel
// initial values link.ts finds and replaces with the address and byte length
// of the plan's JSON (in a data segment at __heap_base). An unlinked runtime
// keeps the sentinels and has no plan.
export let portcullis_plan_addr: i32 = 0x504c4e41; // "PLNA"
export let portcullis_plan_len: i32 = 0x504c4e4c; // "PLNL"

export function planLinked(): bool {
  return portcullis_plan_addr != 0x504c4e41;
}

/** First address the heap may use: above the embedded plan when there is one. */
export function heapStart(): usize {
  return planLinked() ? <usize>portcullis_plan_addr + <usize>portcullis_plan_len : __heap_base;
}

/** Exported so that the linker knows where static data ends and the plan may go. */
export const portcullis_heap_base: usize = __heap_base;
