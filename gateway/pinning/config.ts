/** The `pinning` section of portcullis.yaml: schema fragment and type. */

export interface PinningConfig {
  /**
   * JSON file holding the pinned tool definitions (relative to the config
   * file). Without it pins last until restart, and the first listing after a
   * restart is trusted again: set it in production.
   */
  file?: string;
}

export const pinningConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    file: { type: 'string', minLength: 1 },
  },
} as const;
