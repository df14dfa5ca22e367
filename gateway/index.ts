/** Portcullis public API: start a gateway from code, or read its configuration. */
export { startGateway, loadPolicyFolder, defaultConfigFile } from './server.js';
export type { RunningGateway, StartOptions } from './server.js';
export { loadConfigFile, configFromObject, ConfigError } from './config/load.js';
export type { PortcullisConfig } from './config/sections.js';
export { ERRORS, GatewayError } from './errors.js';
