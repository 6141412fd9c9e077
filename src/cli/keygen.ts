/**
 * @module cli/keygen
 * `alto keygen -o FILE`: a new Ed25519 key for signing attestations (server.signing.key).
 */
import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { generateSigningKey, privateJwkToPem } from '../server/signing.ts'
import { EXIT, ExitError } from './exit.ts'

interface KeygenFlags {
  output: string
  pem?: boolean
  force?: boolean
  json?: boolean
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('Write a new Ed25519 key for signing redistributable answers (server signing.key)')
    .requiredOption('-o, --output <file>', 'where to write the private key (created with mode 0600)')
    .option('--pem', 'write PKCS #8 PEM instead of a JWK')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print the public JWK as one JSON line')
    .addHelpText(
      'after',
      `
Examples:
  alto keygen -o signing-key.json
  alto keygen -o signing-key.pem --pem

Prints the key id (the RFC 7638 thumbprint the JWKS and attestations use). For a rotation, list
the old key under signing.previous-keys until its attestations have expired (docs/redistribution.md).`,
    )
    .action((flags: KeygenFlags) => {
      const jwk = generateSigningKey()
      const text = flags.pem ? privateJwkToPem(jwk) : `${JSON.stringify(jwk, null, 2)}\n`
      try {
        writeFileSync(flags.output, text, { mode: 0o600, flag: flags.force ? 'w' : 'wx' })
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'EEXIST') throw new ExitError(EXIT.usage, `${flags.output} exists; pass --force to overwrite it`)
        throw new ExitError(EXIT.failed, `cannot write ${flags.output}: ${code ?? String(error)}`)
      }
      const { d: _private, ...publicJwk } = jwk
      if (flags.json) process.stdout.write(`${JSON.stringify(publicJwk)}\n`)
      else process.stdout.write(`wrote Ed25519 signing key ${jwk.kid} to ${flags.output}\n`)
    })
}
