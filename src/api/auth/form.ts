/**
 * Reading OAuth parameters from an application/x-www-form-urlencoded body or a query string.
 * RFC 6749 §3.1–3.2: a parameter may appear at most once, and one sent without a value is
 * treated as omitted.
 */
import { OAuthError } from './errors.js';

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The parameters of a form body; throws OAuthError invalid_request unless it is UTF-8 form data. */
export function parseForm(contentType: string | undefined, body: unknown): URLSearchParams {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== FORM_MEDIA_TYPE)
    throw new OAuthError('invalid_request', `the body must be ${FORM_MEDIA_TYPE}`);
  if (!(body instanceof Uint8Array))
    throw new OAuthError('invalid_request', 'the request has no body');
  try {
    return new URLSearchParams(utf8.decode(body));
  } catch {
    throw new OAuthError('invalid_request', 'the body is not UTF-8');
  }
}

/** The parameters of a request URL's query string. */
export function parseQuery(url: string): URLSearchParams {
  const mark = url.indexOf('?');
  return new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1));
}

/** The value of `name`, or undefined if absent or empty; throws OAuthError invalid_request if repeated. */
export function parameter(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name).filter((value) => value !== '');
  if (values.length > 1) throw new OAuthError('invalid_request', `${name} appears more than once`);
  return values[0];
}

/** The value of `name`; throws OAuthError invalid_request if it is absent, empty or repeated. */
export function requiredParameter(params: URLSearchParams, name: string): string {
  const value = parameter(params, name);
  if (value === undefined) throw new OAuthError('invalid_request', `${name} is required`);
  return value;
}
