// API error mapping (pure; unit-tested). Every failure the UI shows is an
// ApiError with a code from the API's enum, or "network" when no answer came.

export type ErrorCode =
  | 'invalid'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'too_large'
  | 'range_not_satisfiable'
  | 'unavailable'
  | 'not_implemented'
  | 'internal'
  | 'method_not_allowed'
  | 'network'
  | 'aborted';

const knownCodes = new Set<string>([
  'invalid',
  'not_found',
  'conflict',
  'unauthorized',
  'forbidden',
  'too_large',
  'range_not_satisfiable',
  'unavailable',
  'not_implemented',
  'internal',
  'method_not_allowed',
]);

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly param?: string;
  readonly requestId?: string;
  constructor(status: number, code: ErrorCode, message: string, param?: string, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.param = param;
    this.requestId = requestId;
  }
}

/** The code an HTTP status stands for when the body does not say. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
    case 422:
      return 'invalid';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
    case 410:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
    case 412:
      return 'conflict';
    case 413:
      return 'too_large';
    case 416:
      return 'range_not_satisfiable';
    case 501:
      return 'not_implemented';
    case 502:
    case 503:
    case 504:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal' : 'invalid';
  }
}

/**
 * Builds the ApiError for a non-2xx answer. body is the parsed JSON (or
 * anything else when the answer was not the API's error shape, e.g. a
 * proxy's HTML page): the code then comes from the status.
 */
export function toApiError(status: number, body: unknown): ApiError {
  const e =
    body && typeof body === 'object' && 'error' in body && body.error && typeof body.error === 'object'
      ? (body.error as Record<string, unknown>)
      : null;
  const rawCode = typeof e?.code === 'string' ? e.code : '';
  const code: ErrorCode = knownCodes.has(rawCode) ? (rawCode as ErrorCode) : codeForStatus(status);
  const message = typeof e?.message === 'string' && e.message ? e.message : `HTTP ${status}`;
  const param = typeof e?.param === 'string' && e.param ? e.param : undefined;
  const requestId = typeof e?.requestId === 'string' && e.requestId ? e.requestId : undefined;
  return new ApiError(status, code, message, param, requestId);
}

/** A fetch that threw: aborted by us, or no answer (offline, DNS, CORS). */
export function fromFetchFailure(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err && typeof err === 'object' && 'name' in err && err.name === 'AbortError') {
    return new ApiError(0, 'aborted', 'aborted');
  }
  return new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
}

/** Whether trying again later may work. */
export function isRetryable(err: ApiError): boolean {
  return err.code === 'network' || err.code === 'unavailable' || err.code === 'internal';
}

/** The i18n key of a short, user-facing explanation of an error. */
export function errorKey(err: unknown): `error.${ErrorCode}` {
  const code = err instanceof ApiError ? err.code : 'network';
  return `error.${code}`;
}
