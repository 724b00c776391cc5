/**
 * One error model. Every failure and warning the function reports on purpose carries one of these codes: thrown
 * as an `FnError` (the input cannot be worked on at all) or carried by a result (`tags.code`), and asserted by tests.
 */
export type ErrorCode =
  // the input as a whole
  | 'INPUT_EMPTY'
  | 'INPUT_YAML'
  | 'INPUT_TOO_DEEP'
  | 'INPUT_NOT_RESOURCE_LIST'
  | 'INPUT_ITEM'
  | 'INPUT_TOO_LARGE'
  // configuration and command line
  | 'CONFIG_INVALID'
  | 'CONFIG_LICENSE_MISSING'
  | 'CACHE_FILE_REFUSED'
  | 'USAGE'
  // one image field
  | 'IMAGE_INVALID'
  | 'IMAGE_UNDECIDED'
  | 'IMAGE_PORT_REGISTRY'
  | 'FIELD_SHARED'
  | 'FIELD_UNSUPPORTED'
  // the pull Secret
  | 'SECRET_CONFLICT'
  // an output form that cannot carry the plan
  | 'OUTPUT_UNSUPPORTED';

/** Codes of warnings: the run succeeds, and the user should know. */
export type WarningCode =
  | 'IMAGE_NOT_FOUND_AS_PRIVATE'
  | 'PROBE_FALLBACK'
  | 'FIELD_OUTSIDE_POD_SPEC'
  | 'IMAGE_IN_VALUE'
  | 'DECISION_CACHE';

/**
 * A failure the user can fix: the message names what and where, and never holds a stack trace or a secret.
 */
export class FnError extends Error {
  override readonly name = 'FnError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra lines (one per problem) when several were found at once. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}
