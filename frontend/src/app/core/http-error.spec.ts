import { HttpErrorResponse } from '@angular/common/http';

import { errorMessage } from './http-error';

describe('errorMessage', () => {
  it("uses the server's JSON message", () => {
    const error = new HttpErrorResponse({ status: 404, statusText: 'Not Found', error: { message: "library 'Drums' not found" } });
    expect(errorMessage(error)).toBe("library 'Drums' not found");
  });

  it('prefers the JSON message over the status sentences', () => {
    expect(errorMessage(new HttpErrorResponse({ status: 413, error: { message: 'file too large (max 50 MB)' } }))).toBe(
      'file too large (max 50 MB)',
    );
    expect(errorMessage(new HttpErrorResponse({ status: 503, error: { message: 'database down' } }))).toBe('database down');
  });

  it('says the server cannot be reached for status 0', () => {
    const error = new HttpErrorResponse({ status: 0, statusText: 'Unknown Error', error: new ProgressEvent('error') });
    expect(errorMessage(error)).toBe('The server cannot be reached. Is DrumSampler running?');
  });

  it('says the request is too large for 413 without a message', () => {
    expect(errorMessage(new HttpErrorResponse({ status: 413, statusText: 'Payload Too Large', error: '<html>nginx</html>' }))).toBe(
      'The request is too large for the server.',
    );
  });

  it('names the status of a 5xx', () => {
    expect(errorMessage(new HttpErrorResponse({ status: 500, statusText: 'Internal Server Error', error: null }))).toBe(
      'The server failed (500). Try again in a moment.',
    );
    expect(errorMessage(new HttpErrorResponse({ status: 502, statusText: 'Bad Gateway', error: 'bad gateway' }))).toBe(
      'The server failed (502). Try again in a moment.',
    );
  });

  it('names status and text of other failures, ignoring a non-string message', () => {
    expect(errorMessage(new HttpErrorResponse({ status: 404, statusText: 'Not Found', error: { message: 42 } }))).toBe(
      'The request failed (404 Not Found).',
    );
  });

  it("uses a plain Error's message, and stringifies anything else", () => {
    expect(errorMessage(new Error('decoding failed'))).toBe('decoding failed');
    expect(errorMessage(new TypeError('x is undefined'))).toBe('x is undefined');
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage(undefined)).toBe('undefined');
  });
});
