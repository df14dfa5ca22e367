export { SECRET_DETECTORS, DETECTOR_KINDS, CHARACTER_KINDS, sensitiveKeyKind } from './detectors.js';
export type { SecretDetector } from './detectors.js';
export { sanitizeString, sanitizeText, redactSecrets, redactionMarker, DEFAULT_MAX_LENGTH } from './text.js';
export type { Findings, SanitizeOptions } from './text.js';
export { redactJson, secretKinds } from './json.js';
export type { RedactJsonOptions, RedactJsonResult } from './json.js';
export { compileRedactList, parseJsonPath } from './redact-list.js';
export type { RedactPlan } from './redact-list.js';
export { sanitizeLogLine, sanitizingHooks } from './pino.js';
