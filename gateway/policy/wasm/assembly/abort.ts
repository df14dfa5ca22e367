// Fatal errors: every failure inside the runtime ends in opa_abort with a
// NUL-terminated message, which the loader turns into a thrown exception.

// @ts-ignore: decorator
@external("env", "opa_abort")
declare function opa_abort(addr: usize): void;

// Messages are written into a static buffer so that aborting never allocates
// (an abort may be caused by running out of memory).
const MESSAGE_CAP: i32 = 1024;
const messageBuf: usize = memory.data(MESSAGE_CAP + 1);

/** Aborts evaluation with `message` (truncated to MESSAGE_CAP bytes, non-ASCII as '?'). */
export function fail(message: string): void {
  const n = min(message.length, MESSAGE_CAP);
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    store<u8>(messageBuf + i, c < 0x80 ? <u8>c : 0x3f);
  }
  store<u8>(messageBuf + n, 0);
  opa_abort(messageBuf);
  unreachable();
}

export function outOfMemory(): void {
  // A literal needs no allocation: it lives in static data.
  fail("internal_error: out of memory");
}

/**
 * Target of the compiler's `abort` (bounds checks, assertions, shadow stack
 * overflow): see scripts/build-runtime.mjs. It takes the message as a raw
 * address so that it needs no shadow stack frame itself: an overflow must not
 * recurse into another overflow.
 */
export function runtimeAbort(message: usize, file: usize, line: u32, column: u32): void {
  const prefix = "internal_error: ";
  let n = 0;
  for (; n < prefix.length; n++) store<u8>(messageBuf + n, <u8>prefix.charCodeAt(n));
  if (message == 0) {
    store<u8>(messageBuf + n, 0);
  } else {
    // A string's byte length is in its object header, 4 bytes below it.
    const units = <i32>(load<u32>(message - 4) >>> 1);
    for (let i = 0; i < units && n < MESSAGE_CAP; i++, n++) {
      const c = load<u16>(message + (<usize>i << 1));
      store<u8>(messageBuf + n, c < 0x80 ? <u8>c : 0x3f);
    }
    store<u8>(messageBuf + n, 0);
  }
  opa_abort(messageBuf);
  unreachable();
}
