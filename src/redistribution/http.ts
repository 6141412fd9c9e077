/**
 * @module redistribution/http
 * One bounded HTTP GET returning the exact body bytes, for JWKS, IRDs, maps and bundles. No
 * `Accept-Encoding` is sent, so the bytes are the identity representation that attestations sign.
 */
import { request, type Dispatcher } from 'undici'
import { createAltoError } from '../protocol/errors.ts'

export interface HttpOptions {
  /** undici dispatcher (Agent with a CA, MockAgent…). */
  dispatcher?: Dispatcher
  /** Time allowed for headers and between body chunks. @default 5000 */
  timeoutMs?: number
  /** Larger bodies are refused. @default 64 MiB */
  maxBytes?: number
}

export interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Media type without parameters, lower case. */
  contentType: string
  body: Buffer
}

export async function httpGet(url: string, accept: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  try {
    return await getOnce(url, accept, options)
  } catch (error) {
    // A kept-alive connection the server closed meanwhile fails at once: a GET may be sent again.
    const cause = (error as { cause?: { code?: string } }).cause
    if (cause?.code !== 'UND_ERR_SOCKET' && cause?.code !== 'ECONNRESET') throw error
    return getOnce(url, accept, options)
  }
}

async function getOnce(url: string, accept: string, options: HttpOptions): Promise<HttpAnswer> {
  const timeout = options.timeoutMs ?? 5000
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024
  let response: Dispatcher.ResponseData
  try {
    response = await request(url, {
      method: 'GET',
      headers: { accept },
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    })
  } catch (error) {
    throw createAltoError('ALTO_ERR_UNREACHABLE', [url, (error as Error).message], error)
  }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length
      if (size > maxBytes) {
        response.body.destroy()
        throw createAltoError('ALTO_ERR_BAD_RESPONSE', [url, 'answer', `body larger than ${maxBytes} bytes`])
      }
      chunks.push(chunk as Buffer)
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ALTO_ERR_BAD_RESPONSE') throw error
    throw createAltoError('ALTO_ERR_UNREACHABLE', [url, (error as Error).message], error)
  }
  const contentType = String(response.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase()
  return { status: response.statusCode, headers: response.headers, contentType, body: Buffer.concat(chunks) }
}

/** The header's value as one string (first of a repeated header), or undefined. */
export function headerValue(headers: HttpAnswer['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** `Cache-Control: max-age` in milliseconds, or undefined. */
export function maxAgeMs(headers: HttpAnswer['headers']): number | undefined {
  const text = [headers['cache-control']].flat().join(',')
  if (/no-cache|no-store/i.test(text)) return 0
  const match = /max-age=(\d+)/i.exec(text)
  return match ? Number(match[1]) * 1000 : undefined
}
