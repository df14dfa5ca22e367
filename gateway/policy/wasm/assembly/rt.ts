// Custom AssemblyScript runtime for the policy module: a bump allocator with
// no garbage collector. Its pointer is the OPA heap pointer: the loader reads
// it after loading data and sets it back before every evaluation, which frees
// everything an evaluation allocated in one step.
import { AL_MASK, OBJECT, OBJECT_OVERHEAD, BLOCK_OVERHEAD, BLOCK, OBJECT_MAXSIZE, BLOCK_MAXSIZE } from "rt/common";
import { outOfMemory } from "./abort";
import { heapStart } from "./embed";

// @ts-ignore: decorator
@lazy let heapOffset: usize = ((heapStart() + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;

/** Moves the heap pointer to the first block position at or above `addr` (and out of the arena). */
// @ts-ignore: decorator
@global
function heapSet(addr: usize): void {
  const next = ((addr + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
  ensureMemory(next);
  heapOffset = next;
  inArena = false;
}

// The arena: a region reserved at instantiation, below the heap floor, for
// what is only known during an evaluation but must outlive it (compiled
// regex patterns of data). While inside it, allocations bump its own
// pointer; the caller checks the room first (arenaRoom), and an allocation
// past its end fails the evaluation rather than overwrite what follows.
// @ts-ignore: decorator
@lazy let arenaNext: usize = 0;
// @ts-ignore: decorator
@lazy let arenaEnd: usize = 0;
// @ts-ignore: decorator
@lazy let inArena: bool = false;
// @ts-ignore: decorator
@lazy let heapOutsideArena: usize = 0;

/** Reserves `size` bytes at the heap pointer; only at instantiation, before the heap floor is read. */
// @ts-ignore: decorator
@global
function arenaReserve(size: usize): void {
  arenaNext = heapOffset;
  heapSet(heapOffset + size);
  arenaEnd = heapOffset;
}

// @ts-ignore: decorator
@global
function arenaRoom(): usize {
  return arenaEnd - arenaNext;
}

// @ts-ignore: decorator
@global
function arenaEnter(): void {
  heapOutsideArena = heapOffset;
  heapOffset = arenaNext;
  inArena = true;
}

// @ts-ignore: decorator
@global
function arenaLeave(): void {
  arenaNext = heapOffset;
  heapOffset = heapOutsideArena;
  inArena = false;
}

// @ts-ignore: decorator
@global
function heapGet(): usize {
  return heapOffset;
}

// The end of memory as last seen. Memory only grows (here or by the loader, for
// input), so an address below it needs no memory.size() query on every allocation.
// @ts-ignore: decorator
@lazy let memoryEnd: usize = 0;

// @ts-ignore: decorator
@inline function ensureMemory(end: usize): void {
  if (end > memoryEnd) growMemory(end);
}

function growMemory(end: usize): void {
  const pages = memory.size();
  let limit = <usize>pages << 16;
  if (end > limit) {
    const needed = <i32>((end - limit + 0xffff) >>> 16);
    // Grow generously (doubling) so repeated small allocations do not grow page by page.
    if (memory.grow(max(pages, needed)) < 0 && memory.grow(needed) < 0) outOfMemory();
    limit = <usize>memory.size() << 16;
  }
  memoryEnd = limit;
}

// @ts-ignore: decorator
@inline function blockSize(size: usize): usize {
  return ((size + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
function __alloc(size: usize): usize {
  if (size > BLOCK_MAXSIZE) outOfMemory();
  const block = changetype<BLOCK>(heapOffset);
  const ptr = heapOffset + BLOCK_OVERHEAD;
  const payload = blockSize(size);
  if (inArena && ptr + payload > arenaEnd) outOfMemory();
  ensureMemory(ptr + payload);
  heapOffset = ptr + payload;
  block.mmInfo = payload;
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
function __realloc(ptr: usize, size: usize): usize {
  const block = changetype<BLOCK>(ptr - BLOCK_OVERHEAD);
  const actual = block.mmInfo;
  const isLast = ptr + actual == heapOffset;
  const payload = blockSize(size);
  if (size > actual) {
    if (isLast) {
      if (size > BLOCK_MAXSIZE || (inArena && ptr + payload > arenaEnd)) outOfMemory();
      ensureMemory(ptr + payload);
      heapOffset = ptr + payload;
      block.mmInfo = payload;
    } else {
      const moved = __alloc(max<usize>(payload, actual << 1));
      memory.copy(moved, ptr, actual);
      return moved;
    }
  } else if (isLast) {
    heapOffset = ptr + payload;
    block.mmInfo = payload;
  }
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
function __free(ptr: usize): void {
  const block = changetype<BLOCK>(ptr - BLOCK_OVERHEAD);
  if (ptr + block.mmInfo == heapOffset) heapOffset = changetype<usize>(block);
}

// @ts-ignore: decorator
@unsafe @global
function __reset(): void {
  heapOffset = ((heapStart() + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
function __new(size: usize, id: u32): usize {
  if (size > OBJECT_MAXSIZE) outOfMemory();
  const ptr = __alloc(OBJECT_OVERHEAD + size);
  const object = changetype<OBJECT>(ptr - BLOCK_OVERHEAD);
  object.gcInfo = 0;
  object.gcInfo2 = 0;
  object.rtId = id;
  object.rtSize = <u32>size;
  // The compiler treats a custom runtime like its incremental one, which hands out
  // zeroed memory; the heap is reused across evaluations, so zero it here.
  memory.fill(ptr + OBJECT_OVERHEAD, 0, size);
  return ptr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
function __renew(oldPtr: usize, size: usize): usize {
  if (size > OBJECT_MAXSIZE) outOfMemory();
  const oldSize = <usize>changetype<OBJECT>(oldPtr - OBJECT_OVERHEAD - BLOCK_OVERHEAD).rtSize;
  const ptr = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size);
  changetype<OBJECT>(ptr - BLOCK_OVERHEAD).rtSize = <u32>size;
  if (size > oldSize) memory.fill(ptr + OBJECT_OVERHEAD + oldSize, 0, size - oldSize);
  return ptr + OBJECT_OVERHEAD;
}

// The remaining hooks exist for the compiler's GC protocol; without a GC they do nothing.
// @ts-ignore: decorator
@global @unsafe
function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {}

// @ts-ignore: decorator
@global @unsafe
function __pin(ptr: usize): usize {
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
function __unpin(ptr: usize): void {}

// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void {}

// @ts-ignore: decorator
@global @unsafe
function __collect(): void {}
