/**
 * How the WebAssembly runtime calls a host built-in through the unmodified
 * @open-policy-agent/opa-wasm loader, without losing Rego types on the way
 * (the loader moves values as plain JSON, which has no sets and no
 * non-string object keys).
 *
 * - The runtime's `builtins()` export maps `HOST_PREFIX + <OPA name>` to the
 *   id (the index in Plan.hostBuiltins). The prefix keeps the loader from
 *   substituting its own JSON-typed implementation of the same name.
 * - A call with N arguments passes ONE string value to `opa_builtin1(id, 0,
 *   addr)`: the Rego value text (the `opa_value_dump` format: JSON plus set
 *   literals `{1, 2}`, the empty set `set()`, and non-string object keys
 *   `{1: "a"}`) of the array of the N arguments.
 * - The host function receives that string, evaluates, and returns a string:
 *   "" when the result is undefined (including any built-in error, as OPA's
 *   WebAssembly target does), otherwise the Rego value text of the result.
 */
export const HOST_PREFIX = 'portcullis/';
