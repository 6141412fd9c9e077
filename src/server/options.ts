/**
 * @module server/options
 * The server's one options type, its defaults, and the check that runs once at the boundary.
 */
import type { Logger } from 'pino'
import type { ServerConfig } from '../provisioning/spec.ts'

export interface ServerOptions extends ServerConfig {
  /**
   * Declare `cost-constraints` on filtered cost maps and the endpoint cost service, and accept
   * `constraints` in their requests. When false, such requests are refused (RFC 7285 §11.3.2.3).
   * @default true
   */
  costConstraints?: boolean
  /**
   * `Cache-Control: max-age` of GET resources, in seconds. Clients revalidate with ETags after it.
   * @default 60
   */
  maxAgeS?: number
  /** A pino logger; by default JSON lines to stderr at `logLevel`. */
  logger?: Logger
  /** Clock, for tests. @default Date.now */
  now?: () => number
}

export interface ResolvedLimits {
  bodyBytes: number
  headerTimeoutMs: number
  requestTimeoutMs: number
  rateLimit: { max: number; windowMs: number }
  overload: { maxEventLoopDelayMs: number; maxInFlight: number; retryAfterS: number }
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8181,
  costConstraints: true,
  maxAgeS: 60,
  logLevel: 'info',
  limits: {
    bodyBytes: 1024 * 1024,
    headerTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    rateLimit: { max: 1000, windowMs: 1000 },
    overload: { maxEventLoopDelayMs: 1000, maxInFlight: 2048, retryAfterS: 5 },
  } satisfies ResolvedLimits,
} as const

export function resolveLimits(limits: ServerConfig['limits'] = {}): ResolvedLimits {
  const d = DEFAULTS.limits
  return Object.freeze({
    bodyBytes: limits.bodyBytes ?? d.bodyBytes,
    headerTimeoutMs: limits.headerTimeoutMs ?? d.headerTimeoutMs,
    requestTimeoutMs: limits.requestTimeoutMs ?? d.requestTimeoutMs,
    rateLimit: { ...d.rateLimit, ...limits.rateLimit },
    overload: { ...d.overload, ...limits.overload },
  })
}
