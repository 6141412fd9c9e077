/**
 * @module bench/tracker/alto-lab
 * The ALTO server the benchmarked tracker takes its guidance from: one network map of `pidCount`
 * PIDs, PID i = 127.i.0.0/16 (named pid-01 …), plus `default` for every other address, and a
 * routingcost map with cost |i - j| + 1 between them. It runs in the bench process: the tracker
 * fetches the maps once at start and then only revalidates them every 30 s.
 */
import { pino } from 'pino'
import { buildSnapshot } from '../../src/provisioning/snapshot.ts'
import { createAltoServer } from '../../src/server/app.ts'

export const pidName = (i: number): string => `pid-${String(i).padStart(2, '0')}`

export function benchAltoServer(pidCount: number) {
  const pids: Record<string, { ipv4: string[]; ipv6?: string[] }> = {}
  const costs: Record<string, Record<string, number>> = {}
  for (let i = 1; i <= pidCount; i++) {
    pids[pidName(i)] = { ipv4: [`127.${i}.0.0/16`] }
    const row: Record<string, number> = {}
    for (let j = 1; j <= pidCount; j++) if (j !== i) row[pidName(j)] = Math.abs(i - j) + 1
    costs[pidName(i)] = row
  }
  pids.default = { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] }
  const snapshot = buildSnapshot({
    networkMaps: [{ id: 'bench', pids }],
    costMaps: [{ networkMap: 'bench', metric: 'routingcost', intraPid: 1, default: pidCount + 1, costs }],
    properties: [],
  })
  return createAltoServer(snapshot, { host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), limits: { rateLimit: { max: 0, windowMs: 1000 } } })
}
