/**
 * @module provisioning/config-metrics
 * The metric sources of a cost map in the config file (docs/config.md "Costs from operator
 * data"): `distance`, `link-class` and `combine`, checked with file, line and field.
 */
import type { MetricSource, SpecPath } from './spec.ts'
import { cost, costMetric, fields, list, mapping, need, oneOf, type Ctx } from './config-source.ts'

const LINK_CLASSES = ['internal', 'peering', 'transit'] as const
export const SOURCE_KEYS = ['distance', 'link-class', 'combine'] as const

/** The metric source a cost map entry names, if any (at most one, and not with `costs`/`file`). */
export function metricSource(o: Record<string, unknown>, at: SpecPath, ctx: Ctx): MetricSource | undefined {
  const given = SOURCE_KEYS.filter((key) => o[key] !== undefined)
  if (given.length === 0) return undefined
  if (given.length > 1) ctx.src.fail([...at, given[1]!], `give one of ${SOURCE_KEYS.join(', ')}, not ${given.join(' and ')}`)
  for (const other of ['costs', 'file']) if (o[other] !== undefined) ctx.src.fail([...at, other], `give ${given[0]} or ${other}, not both`)
  const key = given[0]!
  const path = [...at, key]
  switch (key) {
    case 'distance': {
      const d = mapping(o.distance, path, ctx, ['coordinates'])
      const coordinates: Record<string, [number, number]> = {}
      for (const [pid, value] of Object.entries(mapping(need(d, 'coordinates', path, ctx), [...path, 'coordinates'], ctx))) {
        const p = [...path, 'coordinates', pid]
        const pair = list(value, p, ctx)
        const [lat, lon] = pair
        if (pair.length !== 2 || typeof lat !== 'number' || typeof lon !== 'number' || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
          ctx.src.fail(p, 'must be [latitude, longitude] in degrees')
        }
        coordinates[pid] = [lat, lon]
      }
      return { kind: 'distance', coordinates }
    }
    case 'link-class': {
      const l = mapping(o['link-class'], path, ctx, ['classes', 'default', 'prices'])
      const classes: Record<string, (typeof LINK_CLASSES)[number]> = {}
      for (const [pid, value] of Object.entries(mapping(l.classes ?? {}, [...path, 'classes'], ctx))) classes[pid] = oneOf(LINK_CLASSES)(value, [...path, 'classes', pid], ctx)
      const defaultClass = l.default === undefined ? 'internal' : oneOf(LINK_CLASSES)(l.default, [...path, 'default'], ctx)
      const prices = fields<Record<(typeof LINK_CLASSES)[number], number>>({ internal: cost, peering: cost, transit: cost }, [...LINK_CLASSES])(need(l, 'prices', path, ctx), [...path, 'prices'], ctx)
      return { kind: 'link-class', classes, defaultClass, prices }
    }
    case 'combine': {
      const c = mapping(o.combine, path, ctx, ['metrics', 'scale'])
      const scale = c.scale === undefined ? 1 : cost(c.scale, [...path, 'scale'], ctx)
      const items = list(need(c, 'metrics', path, ctx), [...path, 'metrics'], ctx)
      if (items.length === 0) ctx.src.fail([...path, 'metrics'], 'must name at least one metric')
      const inputs = items.map((item, j) => {
        const p = [...path, 'metrics', j]
        const m = mapping(item, p, ctx, ['cost-metric', 'weight', 'normalize'])
        return {
          metric: costMetric(need(m, 'cost-metric', p, ctx), [...p, 'cost-metric'], ctx),
          weight: cost(need(m, 'weight', p, ctx), [...p, 'weight'], ctx),
          normalize: m.normalize === undefined ? ('max' as const) : oneOf(['none', 'max', 'minmax'] as const)(m.normalize, [...p, 'normalize'], ctx),
        }
      })
      return { kind: 'combine', inputs, scale }
    }
  }
}
