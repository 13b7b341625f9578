// Network access: the Fetcher interface and its default implementation, and bounded concurrency.
export { largestFirst, mapLimit } from './concurrency.js';
export {
  createFetcher,
  type Expect,
  type Fetcher,
  type GetOptions,
  type HttpFetcherOptions,
  isNotFound,
} from './http.js';
export {
  DEFAULT_NET_TIMEOUTS,
  NET_TIMEOUT_VARIABLES,
  type NetTimeouts,
  netTimeoutsFromEnv,
} from './timeouts.js';
