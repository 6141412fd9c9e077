/**
 * @module provisioning/load
 * From what an operator gives (a config file, RFC 7285 JSON map files, or nothing) to a checked
 * snapshot. Every error is an {@link AltoConfigError} naming file, line and field.
 */
import { readFileSync } from 'node:fs'
import { AltoConfigError } from '../protocol/errors.ts'
import { configFiles, formatSpecPath, loadConfigFile, locate, rfcCostMapToSpec, rfcNetworkMapToSpec } from './config.ts'
import { defaultNetworkSpec } from './default-network.ts'
import { buildSnapshot, type Snapshot } from './snapshot.ts'
import { SpecError, type AltoConfig, type SpecPath } from './spec.ts'

export interface LoadOptions {
  /** A YAML config file (docs/config.md). */
  config?: string
  /** RFC 7285 network map bodies (`application/alto-networkmap+json`). */
  networkMaps?: readonly string[]
  /** RFC 7285 cost map bodies (`application/alto-costmap+json`), numerical mode. */
  costMaps?: readonly string[]
}

export interface Loaded {
  config: AltoConfig
  snapshot: Snapshot
  /** Where the network came from, for the startup log. */
  source: string
  /** The files it was read from, to reload when they change. */
  files: string[]
}

/** Load and check everything; with no inputs, the embedded default network. */
export function loadNetwork(options: LoadOptions): Loaded {
  const files = [...(options.networkMaps ?? []), ...(options.costMaps ?? [])]
  if (options.config && files.length > 0) {
    throw new AltoConfigError('give either --config or --network-map/--cost-map files, not both')
  }
  if (options.config) {
    const config = loadConfigFile(options.config)
    return { config, snapshot: snapshotOf(config, (path) => locate(config, path)), source: options.config, files: configFiles(config) }
  }
  if (files.length > 0) {
    if (!options.networkMaps?.length) throw new AltoConfigError('--cost-map needs the --network-map it depends on')
    const networkMaps = options.networkMaps.map((file) => rfcNetworkMapToSpec(readJson(file), file))
    const costMaps = (options.costMaps ?? []).map((file) => rfcCostMapToSpec(readJson(file), file))
    const config: AltoConfig = { server: {}, network: { networkMaps, costMaps, properties: [] } }
    // Paths name an entry of the file lists: say which file it was.
    const fileOf = (path: SpecPath) => {
      const list = path[0] === 'cost-maps' ? (options.costMaps ?? []) : options.networkMaps!
      return { file: list[Number(path[1])] ?? String(path[0]) }
    }
    return { config, snapshot: snapshotOf(config, fileOf), source: files.join(', '), files }
  }
  const config: AltoConfig = { server: {}, network: defaultNetworkSpec() }
  return { config, snapshot: snapshotOf(config, () => ({ file: '(embedded default network)' })), source: 'embedded default network', files: [] }
}

function snapshotOf(config: AltoConfig, where: (path: SpecPath) => { file: string; line?: number; field?: string }): Snapshot {
  try {
    return buildSnapshot(config.network)
  } catch (error) {
    if (!(error instanceof SpecError)) throw error
    // The locator's field wins: inside a referenced JSON file it names the JSON member.
    throw new AltoConfigError(error.message, { field: formatSpecPath(error.path), ...where(error.path) })
  }
}

function readJson(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new AltoConfigError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { file })
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    const message = (error as Error).message
    const position = /position (\d+)/.exec(message)
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined
    throw new AltoConfigError(`not valid JSON: ${message}`, line === undefined ? { file } : { file, line })
  }
}
