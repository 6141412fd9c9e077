/** @module discovery — ALTO server discovery over DNS: RFC 7286 (a domain) and RFC 8686 (an address), on an injected NAPTR resolver. */
export * from './dns.ts'
export * from './unaptr.ts'
export * from './xdomdisc.ts'
export * from './rfc7286.ts'
