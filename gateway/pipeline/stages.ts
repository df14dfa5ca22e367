/**
 * The ordered stages every message passes, in both directions. Add a stage
 * by writing one file and adding one line here. Stages before `forward` see
 * the outcome on the way back (e.g. list filtering, response inspection).
 */
import type { Stage } from './context.js';
import { validateParamsStage } from './validate-params.js';
import { routeStage } from './route.js';
import { describeToolStage } from './describe-tool.js';
import { pinToolsStage } from './pin-tools.js';
import { validateArgumentsStage } from './validate-arguments.js';
import { decideStage } from './decide.js';
import { rateLimitStage } from './rate-limit.js';
import { holdStage } from './hold.js';
import { inspectResponseStage } from './inspect-response.js';
import { filterListsStage } from './filter-lists.js';
import { auditDecisionStage, auditStage } from './audit.js';
import { forwardStage } from './forward.js';

export const STAGES: readonly Stage[] = [
  validateParamsStage, // an agent's request has its method's MCP params shape before anything reads them
  routeStage, // where does it go (validation of the JSON-RPC shape happened at the transport)
  describeToolStage, // which tool definition it calls
  auditStage, // audit trail must be writable; records denials and each call's outcome, counts requests
  filterListsStage, // ← list answers keep only what the policy allows (after pinning saw the full list)
  pinToolsStage, // only pinned (reviewed) tool definitions are callable; ← tool lists hide quarantined tools
  validateArgumentsStage, // tools/call arguments must match the pinned input schema
  decideStage, // policy decision: deny answers here, nothing forwarded
  auditDecisionStage, // the allow/hold decision is on record before anything is forwarded
  rateLimitStage, // token buckets per agent, per agent+tool (the decision's rate class), per server
  holdStage, // decisions asking for a hold wait here for a person's approval
  inspectResponseStage, // ← tool results asked of the policy (direction response): withheld or masked
  forwardStage, // to the upstream(s), or to the agent
];
