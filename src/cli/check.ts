/**
 * @module cli/check
 * `alto check`: load and check a network without serving it, and summarize what would be served.
 */
import type { Command } from 'commander'
import { loadNetwork, type LoadOptions } from '../provisioning/load.ts'
import { collect } from './options.ts'

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('Check a config file or RFC 7285 map files without serving them; print what would be served')
    .option('-c, --config <file>', 'YAML config file')
    .option('--network-map <file>', 'RFC 7285 network map JSON body; repeatable', collect)
    .option('--cost-map <file>', 'RFC 7285 cost map JSON body; repeatable', collect)
    .option('--json', 'print the summary as JSON')
    .action((flags: { config?: string; networkMap?: string[]; costMap?: string[]; json?: boolean }) => {
      const options: LoadOptions = {}
      if (flags.config) options.config = flags.config
      if (flags.networkMap) options.networkMaps = flags.networkMap
      if (flags.costMap) options.costMaps = flags.costMap
      const { snapshot, source } = loadNetwork(options)
      const summary = {
        source,
        networkMaps: [...snapshot.networkMaps.values()].map((m) => ({ id: m.resourceId, vtag: m.vtag, pids: m.pids.length, coversEverything: m.coversEverything })),
        costTypes: Object.fromEntries(snapshot.costTypes),
        costMaps: snapshot.costMaps.map((c) => ({ name: c.name, networkMap: c.networkMap.resourceId })),
        properties: [...snapshot.properties.keys()],
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
        return
      }
      const lines = [`ok: ${source}`]
      for (const m of summary.networkMaps) {
        lines.push(`  network map ${m.id}: ${m.pids} PIDs, vtag ${m.vtag}${m.coversEverything ? '' : ' (no default PID: some addresses map to no PID)'}`)
      }
      for (const c of summary.costMaps) lines.push(`  cost map ${c.name} on ${c.networkMap}`)
      for (const p of summary.properties) lines.push(`  endpoint property ${p}`)
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}
