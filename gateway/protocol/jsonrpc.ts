/** JSON-RPC 2.0 message shapes as MCP uses them, and classification of untrusted input. */

export type RpcId = string | number;
export type Params = Record<string, unknown>;

export type RpcMessage =
  | { kind: 'request'; id: RpcId; method: string; params?: Params }
  | { kind: 'notification'; method: string; params?: Params }
  | { kind: 'result'; id: RpcId; result: Params }
  | { kind: 'error'; id: RpcId | null; error: { code: number; message: string; data?: unknown } };

export type Classified = { ok: true; message: RpcMessage } | { ok: false; id: RpcId | null };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isId(value: unknown): value is RpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

/** Sorts one untrusted JSON value into a message kind, or reports it invalid (with its id when usable). */
export function classify(value: unknown): Classified {
  if (!isObject(value) || value.jsonrpc !== '2.0') return { ok: false, id: isObject(value) && isId(value.id) ? value.id : null };
  const { id, method, params } = value;
  const usableId = isId(id) ? id : null;
  if (typeof method === 'string') {
    if (method === '' || (params !== undefined && !isObject(params))) return { ok: false, id: usableId };
    if (!('id' in value)) return { ok: true, message: params === undefined ? { kind: 'notification', method } : { kind: 'notification', method, params } };
    if (usableId === null) return { ok: false, id: null };
    return { ok: true, message: params === undefined ? { kind: 'request', id: usableId, method } : { kind: 'request', id: usableId, method, params } };
  }
  if ('result' in value && isObject(value.result) && usableId !== null && !('error' in value)) {
    return { ok: true, message: { kind: 'result', id: usableId, result: value.result } };
  }
  const error = value.error;
  if ('error' in value && isObject(error) && typeof error.code === 'number' && typeof error.message === 'string') {
    const body = error.data === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, data: error.data };
    return { ok: true, message: { kind: 'error', id: usableId, error: body } };
  }
  return { ok: false, id: usableId };
}

/** The wire form of a message. */
export function toWire(message: RpcMessage): Record<string, unknown> {
  const { kind, ...rest } = message;
  void kind;
  return { jsonrpc: '2.0', ...rest };
}
