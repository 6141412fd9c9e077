/**
 * @module cli/hash-password
 * `alto hash-password`: read a password on standard input, print its scrypt hash for the config.
 */
import type { Command } from 'commander'
import { hashPassword } from '../server/passwords.ts'
import { EXIT, ExitError } from './exit.ts'

export function registerHashPassword(program: Command): void {
  program
    .command('hash-password')
    .description('Read a password from standard input and print the salted scrypt hash for server.auth.users[].password-hash')
    .addHelpText('after', '\nExample:\n  printf %s "s3cret" | alto hash-password')
    .action(async () => {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
      if (password === '') throw new ExitError(EXIT.usage, 'no password on standard input')
      process.stdout.write(`${await hashPassword(password)}\n`)
    })
}
