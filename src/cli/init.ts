/**
 * @module cli/init
 * `alto init`: write the embedded default network as an editable config file.
 */
import { existsSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { defaultNetworkYaml } from '../provisioning/default-network.ts'
import { EXIT, ExitError } from './exit.ts'

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Write the embedded default network as a config file to edit (docs/config.md)')
    .option('-o, --output <file>', 'where to write it; - for standard output', 'alto.yaml')
    .option('-f, --force', 'overwrite an existing file')
    .action((flags: { output: string; force?: boolean }) => {
      const yaml = defaultNetworkYaml()
      if (flags.output === '-') {
        process.stdout.write(yaml)
        return
      }
      if (existsSync(flags.output) && !flags.force) throw new ExitError(EXIT.failed, `${flags.output} exists; use --force to overwrite it`)
      writeFileSync(flags.output, yaml)
      process.stdout.write(`wrote ${flags.output}; serve it with: alto serve --config ${flags.output}\n`)
    })
}
