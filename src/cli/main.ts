/**
 * @module cli/main
 * The `alto` program: a thin shell over the library. Exit status 0 on success, 1 when the job
 * fails, 2 on bad usage or bad input (DESIGN.md).
 */
import { Command, CommanderError } from 'commander'
import { isAltoConfigError, isAltoError } from '../protocol/errors.ts'
import { EXIT, ExitError } from './exit.ts'
import { registerBuildMap } from './build-map.ts'
import { registerCheck } from './check.ts'
import { registerDiscover } from './discover.ts'
import { registerHashPassword } from './hash-password.ts'
import { registerInit } from './init.ts'
import { registerKeygen } from './keygen.ts'
import { registerQuery } from './query.ts'
import { registerRank } from './rank.ts'
import { registerServe } from './serve.ts'
import { registerShare } from './share.ts'
import { registerSimulate } from './simulate.ts'
import { registerTracker } from './tracker.ts'
import { registerVerify } from './verify.ts'

export function buildProgram(): Command {
  const program = new Command('alto')
    .description('ALTOkit: IETF ALTO (RFC 7285) server and tools. Run `alto <command> --help` for details.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
  registerServe(program)
  registerTracker(program)
  registerInit(program)
  registerCheck(program)
  registerHashPassword(program)
  registerQuery(program)
  registerRank(program)
  registerDiscover(program)
  registerKeygen(program)
  registerVerify(program)
  registerShare(program)
  registerBuildMap(program)
  registerSimulate(program)
  return program
}

/** Run the program; resolves with the exit status (long-running commands resolve when they stop). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync([...argv])
    return EXIT.ok
  } catch (error) {
    return report(error)
  }
}

/** Library errors that mean the user's input was wrong (exit 2), not that the job failed. */
const BAD_INPUT = new Set(['ALTO_ERR_BAD_ADDRESS', 'ALTO_ERR_UNSUPPORTED_PREFIX', 'ALTO_ERR_BAD_DISCOVERY_INPUT'])

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has printed the message (or help/version) already.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok
    return EXIT.usage
  }
  if (error instanceof ExitError) {
    process.stderr.write(`alto: ${error.message}\n`)
    return error.status
  }
  if (isAltoConfigError(error)) {
    process.stderr.write(`alto: ${error.message}\n`)
    return EXIT.usage
  }
  if (isAltoError(error)) {
    process.stderr.write(`alto: ${error.message}\n`)
    return BAD_INPUT.has(error.code) ? EXIT.usage : EXIT.failed
  }
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`alto: ${message}\n`)
  return EXIT.failed
}
