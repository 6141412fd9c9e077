/**
 * @module cli/exit
 * Exit statuses (DESIGN.md): 0 success, 1 the job failed, 2 bad usage or bad input.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const

/** Thrown by subcommands to end with a status and a message on stderr. */
export class ExitError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}
