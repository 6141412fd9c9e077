#!/usr/bin/env node
// The `alto` program. ALTOkit ships TypeScript sources and runs them through tsx's loader,
// so there is no build step between a clone and a running server.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv)
