import { describe, expect, it } from 'vitest';
import { ApiError, codeForStatus, errorKey, fromFetchFailure, isRetryable, toApiError } from '../../src/common/errors';
import { withQuery } from '../../src/common/api';

describe('toApiError', () => {
  it('reads the API’s error shape', () => {
    const e = toApiError(400, { error: { code: 'invalid', message: 'limit must be a whole number', param: 'limit', requestId: 'r1' } });
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 400, code: 'invalid', message: 'limit must be a whole number', param: 'limit', requestId: 'r1' });
  });
  it('derives the code from the status when the body is not the API’s', () => {
    expect(toApiError(502, '<html>Bad gateway</html>').code).toBe('unavailable');
    expect(toApiError(401, null).code).toBe('unauthorized');
    expect(toApiError(404, { message: 'nope' }).code).toBe('not_found');
    expect(toApiError(500, { error: { code: 'weird', message: 'x' } }).code).toBe('internal');
    expect(toApiError(418, null).message).toBe('HTTP 418');
  });
  it('maps every status family', () => {
    expect(codeForStatus(403)).toBe('forbidden');
    expect(codeForStatus(409)).toBe('conflict');
    expect(codeForStatus(413)).toBe('too_large');
    expect(codeForStatus(501)).toBe('not_implemented');
    expect(codeForStatus(503)).toBe('unavailable');
    expect(codeForStatus(599)).toBe('internal');
    expect(codeForStatus(422)).toBe('invalid');
  });
});

describe('fetch failures', () => {
  it('tells an abort from a network failure', () => {
    expect(fromFetchFailure(new DOMException('x', 'AbortError')).code).toBe('aborted');
    expect(fromFetchFailure(new TypeError('Failed to fetch')).code).toBe('network');
    const api = new ApiError(409, 'conflict', 'c');
    expect(fromFetchFailure(api)).toBe(api);
  });
  it('says what is worth retrying and which message to show', () => {
    expect(isRetryable(new ApiError(0, 'network', ''))).toBe(true);
    expect(isRetryable(new ApiError(503, 'unavailable', ''))).toBe(true);
    expect(isRetryable(new ApiError(404, 'not_found', ''))).toBe(false);
    expect(errorKey(new ApiError(403, 'forbidden', ''))).toBe('error.forbidden');
    expect(errorKey(new Error('boom'))).toBe('error.network');
  });
});

describe('withQuery', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(withQuery('/api/videos', { q: 'électricité & co', tag: '', cursor: undefined, limit: 24 })).toBe(
      '/api/videos?q=%C3%A9lectricit%C3%A9+%26+co&limit=24',
    );
    expect(withQuery('/api/videos', {})).toBe('/api/videos');
    expect(withQuery('/api/admin/videos', { published: false })).toBe('/api/admin/videos?published=false');
  });
});
