/** Why a hold operation was refused; each maps to one HTTP status for the admin API. */
export type HoldErrorReason =
  | 'not-found'
  | 'not-pending'
  | 'agent-cannot-approve'
  | 'own-call'
  | 'not-an-approver'
  | 'digest-mismatch'
  | 'revision-mismatch'
  | 'not-approved'
  | 'too-many-pending'
  /** Holds are shared by replicas (state.backend redis) and Redis is out of reach: fail closed. */
  | 'state-unavailable';

export const HOLD_ERROR_STATUS: Record<HoldErrorReason, number> = {
  'not-found': 404,
  'not-pending': 409,
  'agent-cannot-approve': 403,
  'own-call': 403,
  'not-an-approver': 403,
  'digest-mismatch': 409,
  'revision-mismatch': 409,
  'not-approved': 409,
  'too-many-pending': 503,
  'state-unavailable': 503,
};

export class HoldError extends Error {
  constructor(
    readonly reason: HoldErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'HoldError';
  }

  get status(): number {
    return HOLD_ERROR_STATUS[this.reason];
  }
}
