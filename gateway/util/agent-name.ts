/** What an agent (or approver) name may be: it lands in SPIFFE ids, file names and config keys. */
export const AGENT_NAME = /^[A-Za-z0-9._-]{1,64}$/;
