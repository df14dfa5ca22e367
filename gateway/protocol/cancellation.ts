/**
 * Cancellation of one message's work (the agent cancelled or went away).
 * CancelSignal is the part of AbortSignal the gateway uses, so the SDK's own
 * signals fit it; Cancellation is the cheap one made per agent request: an
 * AbortController and its EventTarget cost microseconds per call.
 */

/** A function, or an object with handleEvent (as EventTarget takes them). */
export type CancelListener = (() => void) | { handleEvent(): void };

export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: CancelListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: CancelListener): void;
}

export class Cancellation implements CancelSignal {
  private cancelled = false;
  private listeners: CancelListener[] = [];

  get aborted(): boolean {
    return this.cancelled;
  }

  addEventListener(_type: 'abort', listener: CancelListener): void {
    if (!this.cancelled) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: CancelListener): void {
    const at = this.listeners.indexOf(listener);
    if (at !== -1) this.listeners.splice(at, 1);
  }

  /** Marks it cancelled and tells every listener, once (later calls do nothing). */
  abort(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) {
      if (typeof listener === 'function') listener();
      else listener.handleEvent();
    }
  }
}

/** For messages nothing can cancel (notifications, list changes): listeners are never kept. */
export const NEVER_CANCELLED: CancelSignal = {
  aborted: false,
  addEventListener: () => undefined,
  removeEventListener: () => undefined,
};
