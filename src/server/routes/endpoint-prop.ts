/**
 * @module server/routes/endpoint-prop
 * Endpoint property service (RFC 7285 §11.4.1): `<network-map-id>.pid` for every network map and
 * the operator's configured properties.
 */
import { AltoProtocolError } from '../../protocol/errors.ts'
import type { EndpointPropBody, VersionTag } from '../../protocol/types.ts'
import { validateEndpointProp } from '../../protocol/validate.ts'
import { parseTypedAddress, type ParsedAddress } from '../../netmap/address.ts'
import type { Snapshot } from '../../provisioning/snapshot.ts'
import { dependentVtags } from '../resources.ts'

type Getter = (address: ParsedAddress) => string | undefined

export function endpointProperties(snapshot: Snapshot, body: unknown): EndpointPropBody {
  const request = validateEndpointProp(body)
  const getters = new Map<string, Getter>()
  const vtags: VersionTag[] = []
  for (const name of request.properties) {
    if (getters.has(name)) continue
    const pidMap = name.endsWith('.pid') ? snapshot.networkMaps.get(name.slice(0, -4)) : undefined
    const property = snapshot.properties.get(name)
    if (pidMap) {
      getters.set(name, (address) => pidMap.lookup(address))
      vtags.push(...dependentVtags(pidMap))
    } else if (property) {
      getters.set(name, (address) => property.lookup(address))
    } else {
      throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Property ${JSON.stringify(name)} is not offered (see prop-types in the IRD)`, {
        field: 'properties',
        value: name,
      })
    }
  }
  const out: EndpointPropBody['endpoint-properties'] = {}
  for (const endpoint of request.endpoints) {
    const address = parseTypedAddress(endpoint)
    if (!address) {
      throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Invalid typed endpoint address ${JSON.stringify(endpoint)}`, {
        field: 'endpoints',
        value: endpoint,
      })
    }
    const values: Record<string, string> = {}
    for (const [name, get] of getters) {
      const value = get(address)
      if (value !== undefined) values[name] = value
    }
    // Answers are keyed by the address as the client wrote it, so it can find its own keys.
    out[endpoint] = values
  }
  return { meta: { 'dependent-vtags': vtags }, 'endpoint-properties': out }
}
