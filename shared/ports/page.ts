import { AppError } from '../errors.ts';

/** One page of a listing: `cursor` is the opaque `nextCursor` of the page before. */
export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Present when more items may follow; opaque to callers. */
  nextCursor?: string;
}

/**
 * 400 INVALID_CURSOR: a cursor that no listing of this kind, for this caller's list, could have
 * produced (tampered, truncated, too long, or the cursor of another tenant's, session's or
 * conversation's list).
 */
export class InvalidCursorError extends AppError {
  constructor() {
    super('invalid', 'INVALID_CURSOR', 'The cursor is not a nextCursor of this list', [
      { path: 'query.cursor', message: 'must be the nextCursor of a previous page of this list' },
    ]);
  }
}
