/**
 * @module cli/query
 * `alto query <kind>`: ask an ALTO server for one resource and print its answer as JSON. The
 * resource is found through the IRD (by kind, cost type and network map) or named with
 * `--resource ID`, in which case the request goes to that resource as given and the server judges
 * it (RFC 7285 §8.5 errors are passed through).
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import type { AltoClient } from '../client/client.ts'
import type { DirectoryResource } from '../client/directory.ts'
import { parseConstraint } from '../cost/constraints.ts'
import { wireCostType } from '../protocol/cost-types.ts'
import { createAltoError, isAltoProtocolError } from '../protocol/errors.ts'
import { MediaType } from '../protocol/media-types.ts'
import type { AddressType, CostMapFilterRequest, CostType, EndpointCostRequest, EndpointPropRequest, NetworkMapFilterRequest } from '../protocol/types.ts'
import {
  addClientOptions,
  addCostTypeOptions,
  compactOutput,
  connect,
  costTypeOf,
  parseAddresses,
  parseList,
  printJson,
  type ClientFlags,
  type Connection,
  type CostTypeFlags,
} from './client-options.ts'
import { collect } from './options.ts'
import { EXIT, ExitError } from './exit.ts'

interface QueryFlags extends ClientFlags, CostTypeFlags {
  json?: boolean
  resource?: string
  networkMap?: string
  pids?: string[]
  addressTypes?: AddressType[]
  srcs?: string[]
  dsts?: string[]
  constraint?: string[]
  endpoints?: string[]
  properties?: string[]
}


/** What a resource of each kind looks like in the IRD (RFC 7285 §9.2.3, media types of §13.7). */
const KINDS = {
  'network-map': { what: 'network map', mediaType: MediaType.networkMap, accepts: undefined },
  'filtered-network-map': { what: 'filtered network map', mediaType: MediaType.networkMap, accepts: MediaType.networkMapFilter },
  'cost-map': { what: 'cost map', mediaType: MediaType.costMap, accepts: undefined },
  'filtered-cost-map': { what: 'filtered cost map', mediaType: MediaType.costMap, accepts: MediaType.costMapFilter },
  'endpoint-props': { what: 'endpoint property service', mediaType: MediaType.endpointProp, accepts: MediaType.endpointPropParams },
  'endpoint-costs': { what: 'endpoint cost service', mediaType: MediaType.endpointCost, accepts: MediaType.endpointCostParams },
} as const satisfies Record<string, { what: string; mediaType: string; accepts: string | undefined }>

type ResourceKind = keyof typeof KINDS

interface QueriedResource {
  resource: DirectoryResource
  kind: ResourceKind
}

/** routingcost is the one cost metric RFC 7285 defines (§6.1.1.1); numerical, as rankPeers defaults. */
const DEFAULT_COST_TYPE: CostType = { 'cost-mode': 'numerical', 'cost-metric': 'routingcost' }

export function registerQuery(program: Command): void {
  const query = program
    .command('query')
    .description('Ask an ALTO server for one resource and print its answer as JSON')
    .argument('[kind]', 'ird, network-map, filtered-network-map, cost-map, filtered-cost-map, endpoint-props or endpoint-costs')
    .addHelpText(
      'after',
      `
Output: indented JSON when standard output is a terminal, one compact line with --json or when
it is not (a pipe or a file). The answer is printed as the server sent it.

Examples:
  alto query ird --server http://127.0.0.1:8181/
  alto query cost-map --server http://127.0.0.1:8181/ --cost-type ord-routingcost
  alto query filtered-cost-map --server http://127.0.0.1:8181/ --srcs region-krakow --constraint 'le 5'
  alto query endpoint-costs --server http://127.0.0.1:8181/ --srcs 10.1.2.3 --dsts 10.2.0.9,2001:db8:300::1

Run \`alto query <kind> --help\` for the options of each kind; docs/cli-client.md has more.`,
    )
    .action((kind: string | undefined) => {
      query.outputHelp({ error: true })
      throw new ExitError(EXIT.usage, kind === undefined ? 'name the kind of resource to query' : `unknown kind of resource: ${kind}`)
    })

  kindCommand(query, 'ird', 'the Information Resource Directory (RFC 7285 §9)', false).action((flags: QueryFlags) =>
    run(flags, ({ client }) => client.irdBody()),
  )

  kindCommand(query, 'network-map', 'a full network map: PIDs and their prefixes (§11.2.1)')
    .addOption(new Option('--network-map <id>', 'network map resource id (default: the IRD\'s default network map)').conflicts('resource'))
    .action((flags: QueryFlags) =>
      run(flags, async ({ client }) => (flags.resource !== undefined ? send(client, await byId(client, flags.resource, 'network-map')) : client.networkMap(flags.networkMap))),
    )

  kindCommand(query, 'filtered-network-map', 'some PIDs of a network map, some address types (§11.3.1)')
    .option('--pids <a,b>', 'PIDs to return; repeatable (default: all)', parseList)
    .option('--address-types <types>', 'ipv4, ipv6 or ipv4,ipv6 (default: all)', parseAddressTypes)
    .addOption(new Option('--network-map <id>', 'the network map to filter (default: the IRD\'s default)').conflicts('resource'))
    .action((flags: QueryFlags) => {
      const request: NetworkMapFilterRequest = { pids: flags.pids ?? [] }
      if (flags.addressTypes) request['address-types'] = flags.addressTypes
      return run(flags, async ({ client }) =>
        flags.resource !== undefined ? send(client, await byId(client, flags.resource, 'filtered-network-map'), request) : client.filteredNetworkMap(request, flags.networkMap),
      )
    })

  addCostTypeOptions(kindCommand(query, 'cost-map', 'a full cost map of one cost type (§11.2.3)'))
    .addOption(new Option('--network-map <id>', 'network map the costs are on (default: the IRD\'s default)').conflicts('resource'))
    .action((flags: QueryFlags) => {
      // A full cost map resource has one cost type (RFC 7285 §11.2.3.4): naming both is ambiguous.
      if (flags.resource !== undefined && costTypeOf(flags) !== undefined) throw new ExitError(EXIT.usage, 'give --resource or a cost type, not both: a cost map resource has one cost type')
      return run(flags, async ({ client }) =>
        flags.resource !== undefined ? send(client, await byId(client, flags.resource, 'cost-map')) : client.costMap(costTypeOf(flags) ?? DEFAULT_COST_TYPE, flags.networkMap),
      )
    })

  addConstraintOption(addCostTypeOptions(kindCommand(query, 'filtered-cost-map', 'costs between some PIDs, optionally constrained (§11.3.2)')))
    .option('--srcs <pids>', 'source PIDs, comma-separated; repeatable (default: all)', parseList)
    .option('--dsts <pids>', 'destination PIDs, comma-separated; repeatable (default: all)', parseList)
    .addOption(new Option('--network-map <id>', 'network map the PIDs are in (default: the IRD\'s default)').conflicts('resource'))
    .action((flags: QueryFlags) => {
      const constraints = constraintsOf(flags)
      return run(flags, async ({ client }) => {
        const resource = flags.resource === undefined ? undefined : await byId(client, flags.resource, 'filtered-cost-map')
        const request: CostMapFilterRequest = { 'cost-type': await costTypeFor(client, flags, resource) }
        if (constraints.length > 0) request.constraints = constraints
        if (flags.srcs !== undefined || flags.dsts !== undefined) request.pids = { srcs: flags.srcs ?? [], dsts: flags.dsts ?? [] }
        return resource ? send(client, resource, request) : client.filteredCostMap(request, flags.networkMap)
      })
    })

  kindCommand(query, 'endpoint-props', 'properties of endpoint addresses, e.g. their PID (§11.4.1)')
    .requiredOption('--endpoints <addresses>', 'addresses, plain (192.0.2.1, 2001:db8::1) or typed (ipv4:192.0.2.1); repeatable', parseList)
    .option('--properties <names>', 'property names, comma-separated (default: <network map>.pid)', parseList)
    .option('--network-map <id>', 'network map whose .pid property is the default (default: the IRD\'s default)')
    .action((flags: QueryFlags) => {
      const endpoints = typedAddresses(flags.endpoints, '--endpoints', true)
      return run(flags, async ({ client }) => {
        const properties = flags.properties?.length ? flags.properties : [`${(await client.directory()).networkMap(flags.networkMap).id}.pid`]
        const request: EndpointPropRequest = { properties, endpoints }
        return flags.resource !== undefined ? send(client, await byId(client, flags.resource, 'endpoint-props'), request) : client.endpointProperties(request)
      })
    })

  addConstraintOption(addCostTypeOptions(kindCommand(query, 'endpoint-costs', 'costs between endpoint addresses (§11.5.1)')))
    .option('--srcs <addresses>', 'source addresses, plain or typed; repeatable (default: the address the request comes from, §11.5.1.3)', parseList)
    .requiredOption('--dsts <addresses>', 'destination addresses, plain or typed; repeatable', parseList)
    .addOption(new Option('--network-map <id>', 'prefer an endpoint cost service on this network map').conflicts('resource'))
    .action((flags: QueryFlags) => {
      const constraints = constraintsOf(flags)
      const dsts = typedAddresses(flags.dsts, '--dsts', true)
      const srcs = flags.srcs === undefined ? undefined : typedAddresses(flags.srcs, '--srcs', false)
      return run(flags, async ({ client }) => {
        const resource = flags.resource === undefined ? undefined : await byId(client, flags.resource, 'endpoint-costs')
        const request: EndpointCostRequest = { 'cost-type': await costTypeFor(client, flags, resource), endpoints: srcs === undefined ? { dsts } : { srcs, dsts } }
        if (constraints.length > 0) request.constraints = constraints
        return resource ? send(client, resource, request) : client.endpointCosts(request, flags.networkMap)
      })
    })
}

function kindCommand(parent: Command, name: string, description: string, byResourceId = true): Command {
  const command = addClientOptions(parent.command(name).description(`Print ${description}`))
  if (byResourceId) command.option('--resource <id>', 'use the IRD resource with this id; the request is sent to it as given and the server judges it')
  return command.option('--json', 'compact JSON on one line even on a terminal; an RFC 7285 error body is printed on stdout too')
}

function addConstraintOption(command: Command): Command {
  return command.option('--constraint <constraint>', 'keep costs satisfying "<op> <number>", op one of lt le gt ge eq; repeatable', collect)
}

/** Connect, ask, print; on an RFC 7285 error with --json the error body goes to stdout too. */
async function run(flags: QueryFlags, ask: (connection: Connection) => Promise<unknown>): Promise<void> {
  const connection = connect(flags)
  try {
    printJson(await ask(connection), compactOutput(flags))
  } catch (error) {
    if (flags.json && isAltoProtocolError(error)) printJson({ meta: error.toMeta() }, true)
    throw error
  } finally {
    await connection.close()
  }
}

/** The IRD resource with this id, which must be of the kind asked for. */
async function byId(client: AltoClient, id: string, kind: ResourceKind): Promise<QueriedResource> {
  const resource = (await client.directory()).resource(id)
  const spec = KINDS[kind]
  if (resource.mediaType !== spec.mediaType || resource.accepts !== spec.accepts) {
    const it = resource.accepts === undefined ? resource.mediaType : `${resource.mediaType} accepting ${resource.accepts}`
    throw createAltoError('ALTO_ERR_NO_RESOURCE', [`${spec.what} with id ${resource.id} (that resource is ${it})`])
  }
  return { resource, kind }
}

/** GET the resource, or POST the request to it (as given: the server judges it). */
function send(client: AltoClient, { resource }: QueriedResource, request?: unknown): Promise<unknown> {
  return client.query(resource.id, request)
}

/**
 * The cost type to send: the one the flags name (an IRD name is resolved in the IRD), else the
 * first one the named resource offers, else numerical routingcost.
 */
async function costTypeFor(client: AltoClient, flags: QueryFlags, queried: QueriedResource | undefined): Promise<CostType> {
  const given = costTypeOf(flags)
  if (given === undefined) return wireCostType(queried?.resource.costTypes[0] ?? DEFAULT_COST_TYPE)
  return wireCostType((await client.directory()).costType(given))
}

function constraintsOf(flags: QueryFlags): string[] {
  const constraints = flags.constraint ?? []
  for (const text of constraints) {
    if (!parseConstraint(text)) throw new ExitError(EXIT.usage, `--constraint ${JSON.stringify(text)}: expected "<op> <number>" with op one of lt, le, gt, ge, eq (RFC 7285 §11.3.2.3)`)
  }
  return constraints
}

function typedAddresses(inputs: readonly string[] | undefined, option: string, required: boolean): string[] {
  const addresses = parseAddresses(inputs ?? [], option, { ports: false }).map((a) => a.typed)
  if (required && addresses.length === 0) throw new ExitError(EXIT.usage, `${option} needs at least one address`)
  return addresses
}

function parseAddressTypes(value: string, previous: AddressType[] = []): AddressType[] {
  const types = parseList(value)
  for (const type of types) if (type !== 'ipv4' && type !== 'ipv6') throw new InvalidArgumentError('address types are ipv4 and ipv6')
  return [...previous, ...(types as AddressType[])]
}
