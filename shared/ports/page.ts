import { ValidationError } from '../errors.ts';

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

/** A cursor that no listing of this kind could have produced (tampered, truncated, or from another list). */
export class InvalidCursorError extends ValidationError {
  constructor() {
    super([{ path: 'query.cursor', message: 'must be the nextCursor of a previous page' }]);
  }
}
