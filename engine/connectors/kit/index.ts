/**
 * The connector kit: what every vendor connector (shopify, woocommerce, square, stripe) is built from, so that each
 * is mostly a description of its API — the typed failures (errors.ts), the one HTTP exchange (http.ts), the rate
 * limits shared by every worker (limiter.ts) and the cursor contract of incremental reads (cursor.ts).
 *
 * Why plain `fetch` rather than the vendors' SDKs (stripe, square, @shopify/admin-api-client): each SDK brings its
 * own retries, its own errors and its own idea of a rate limit, and four of them would make four error paths and
 * four back-off policies fighting the pipeline's. With one exchange every vendor's 429 feeds the same limiter,
 * every failure is one of four kinds, every message goes through the same redaction, and every test server is just
 * a base URL.
 */
export {
  DEFAULT_OVERLAP_MS,
  readSlices,
  type SliceCursor,
  type SliceOptions,
  type SliceQuery,
  sliceCursor,
  utc,
} from './cursor.js';
export { ExpiredToken, failure, networkCode, parseRetryAfter, statusKind } from './errors.js';
export {
  type HttpClient,
  type HttpClientOptions,
  httpClient,
  nextLink,
  type Reply,
  type RequestOptions,
} from './http.js';
export {
  localBucket,
  type RateLimiter,
  type RateLimiterOptions,
  rateLimiter,
  SLOW,
  semaphore,
  wait,
} from './limiter.js';
export { ConnectorError, type CheckReport, type FailureKind } from '../types.js';
