/** Every failure the function reports on purpose carries one of these codes. */
export type ErrorCode =
  | 'INPUT_EMPTY'
  | 'INPUT_YAML'
  | 'INPUT_NOT_RESOURCE_LIST'
  | 'INPUT_ITEM'
  | 'INPUT_TOO_LARGE'
  | 'CONFIG_INVALID'
  | 'CONFIG_LICENSE_MISSING'
  | 'CACHE_FILE_REFUSED'
  | 'USAGE';

/**
 * A failure the user can fix: the message names what and where, and never
 * holds a stack trace or a secret.
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
