/** Where in a migration file something went wrong (1-based line and column). */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * An error the user can act on: `message` says what happened, `location` where, `hint` what to do.
 * `code` is stable and machine-readable (used in reports and tests).
 */
export class GuardError extends Error {
  constructor(
    readonly code: GuardErrorCode,
    message: string,
    readonly options: { location?: SourceLocation; hint?: string; cause?: unknown; sqlstate?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'GuardError';
  }

  get location(): SourceLocation | undefined {
    return this.options.location;
  }

  get hint(): string | undefined {
    return this.options.hint;
  }

  /** One line for logs: "file:line:col: message (hint)". */
  describe(): string {
    return [formatLocation(this.location), this.message, this.hint ? `\n  ${this.hint}` : '']
      .filter(Boolean)
      .join('');
  }
}

export type GuardErrorCode =
  | 'invalid-input'
  | 'connection-failed'
  | 'migrations-dir'
  | 'duplicate-version'
  | 'parse-error'
  | 'transaction-control'
  | 'refused-statement'
  | 'drift'
  | 'out-of-order'
  | 'lock-timeout'
  | 'migration-failed'
  | 'not-implemented'
  | 'rollback-impossible'
  | 'rehearsal-failed'
  | 'confirmation-required'
  | 'pg-tools'
  | 'backup-failed'
  | 'backup-checksum'
  | 'restore-failed'
  | 'cancelled'
  | 'too-large'
  | 'shadow-database'
  | 'destructive-change';

/** "file:line:column: " (or "" without a file); takes a SourceLocation or an error detail. */
export function formatLocation(location: Partial<SourceLocation> | undefined): string {
  if (!location?.file) return '';
  const parts = [location.file, location.line, location.column].filter((p) => p !== undefined);
  return `${parts.join(':')}: `;
}

export function errorMessage(error: unknown): string {
  if (error instanceof GuardError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
