/**
 * @module cli/check
 * `alto check`: load and check a network without serving it, and summarize what would be served.
 */
import type { Command } from 'commander'
import { loadNetwork } from '../provisioning/load.ts'
import { addSourceOptions, loadOptionsOf, type SourceFlags } from './options.ts'

export function registerCheck(program: Command): void {
  addSourceOptions(program.command('check').description('Check a config file or RFC 7285 map files without serving them; print what would be served'))
    .option('--json', 'print the summary as JSON')
    .action((flags: SourceFlags & { json?: boolean }) => {
      const { snapshot, source } = loadNetwork(loadOptionsOf(flags))
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
