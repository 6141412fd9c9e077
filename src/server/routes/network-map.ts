/**
 * @module server/routes/network-map
 * Filtered network map (RFC 7285 §11.3.1).
 */
import { AltoProtocolError } from '../../protocol/errors.ts'
import { isValidPidName } from '../../protocol/names.ts'
import type { AddressType, NetworkMapBody } from '../../protocol/types.ts'
import { validateNetworkMapFilter } from '../../protocol/validate.ts'
import type { Resource } from '../resources.ts'

export function filteredNetworkMap(resource: Resource, body: unknown): NetworkMapBody {
  const request = validateNetworkMapFilter(body)
  for (const pid of request.pids) {
    // Syntactically invalid names are errors; valid names of PIDs we do not have are ignored (§11.3.1.6).
    if (!isValidPidName(pid)) throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Invalid PID name ${JSON.stringify(pid)}`, { field: 'pids', value: pid })
  }
  const types = request['address-types'] ?? []
  for (const type of types) {
    if (type !== 'ipv4' && type !== 'ipv6') {
      throw new AltoProtocolError('E_INVALID_FIELD_VALUE', `Unknown address type ${JSON.stringify(type)}`, { field: 'address-types', value: type })
    }
  }
  return resource.networkMap!.filterBody(request.pids, types as AddressType[])
}
