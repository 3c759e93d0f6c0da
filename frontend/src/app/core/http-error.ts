import { HttpErrorResponse } from '@angular/common/http';

/** The server's own words for a failed request (its JSON `message`), or a plain sentence when it gave none. */
export function errorMessage(error: unknown): string {
  if (error instanceof HttpErrorResponse) {
    const body = error.error as unknown;
    if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') {
      return body.message;
    }
    if (error.status === 0) return 'The server cannot be reached. Is DrumSampler running?';
    if (error.status === 413) return 'The request is too large for the server.';
    if (error.status >= 500) return `The server failed (${error.status}). Try again in a moment.`;
    return `The request failed (${error.status} ${error.statusText}).`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
