/**
 * @module server/passwords
 * Salted scrypt password hashes in the form `scrypt$N$r$p$<salt base64>$<hash base64>`, compared
 * in constant time. `alto hash-password` makes them for the config file.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const FORM = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/

function scryptAsync(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))))
}

export function isPasswordHash(text: string): boolean {
  return FORM.test(text)
}

export async function hashPassword(password: string, cost = { N: 16384, r: 8, p: 1 }): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scryptAsync(password, salt, 32, { ...cost, maxmem: 64 * 1024 * 1024 })
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64')}$${hash.toString('base64')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = FORM.exec(stored)
  if (!match) return false
  const [, N, r, p, salt, hash] = match
  const expected = Buffer.from(hash!, 'base64')
  const actual = await scryptAsync(password, Buffer.from(salt!, 'base64'), expected.length, {
    N: Number(N),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * 1024 * 1024,
  })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
