/**
 * @module sim/network
 * The network a simulation runs on: an ALTO network map and cost map (the same objects a server
 * serves and a client caches), addresses for simulated peers inside each PID (checked by the map's
 * own longest-prefix match), a grouping of PIDs into ISPs, and the real guidance objects of the
 * client library and the tracker built on them.
 */
import type { AddressType } from '../protocol/types.ts'
import type { Rng } from '../cost/rank.ts'
import type { CostMap } from '../cost/cost-map.ts'
import type { NetworkMap } from '../netmap/network-map.ts'
import { formatAddress, parseAnyPrefix, type ParsedAddress } from '../netmap/address.ts'
import { LocalGuidance } from '../client/guidance.ts'
import { TrackerGuidance } from '../tracker/guidance.ts'
import type { SwarmPeer } from '../tracker/swarm.ts'

export interface SimNetwork {
  networkMap: NetworkMap
  /** A numerical cost map over `networkMap` (routingcost unless chosen otherwise). */
  costMap: CostMap
  /** Where it came from, for reports. */
  source: string
}

/** The guidance objects ALTOkit's client and tracker use, on one network. */
export interface Guidance {
  network: SimNetwork
  local: LocalGuidance
  tracker: TrackerGuidance
}

export function guidanceOf(network: SimNetwork): Guidance {
  const local = new LocalGuidance(network.networkMap, network.costMap)
  return { network, local, tracker: new TrackerGuidance(local) }
}

/**
 * ISP of each PID: the first capture group of `pattern` on the PID name, or the whole name when it
 * does not match. The default puts PIDs that share a name up to the first `-` together
 * (`region-krakow`, `region-gdansk` -> `region`), and every other PID in an ISP of its own.
 */
export function ispGroups(networkMap: NetworkMap, pattern = '^([^-]+)-'): { ispOfPid: Int32Array; names: string[] } {
  const re = new RegExp(pattern)
  const names: string[] = []
  const index = new Map<string, number>()
  const ispOfPid = new Int32Array(networkMap.pids.length)
  networkMap.pids.forEach((pid, i) => {
    const name = re.exec(pid)?.[1] ?? pid
    let isp = index.get(name)
    if (isp === undefined) {
      isp = names.length
      names.push(name)
      index.set(name, isp)
    }
    ispOfPid[i] = isp
  })
  return { ispOfPid, names }
}

/**
 * A random address whose longest-prefix match in `networkMap` is PID `pid`, drawn inside one of
 * the PID's own prefixes (IPv4 first, then IPv6); undefined when 64 tries all landed in a more
 * specific prefix of another PID.
 */
export function addressInPid(networkMap: NetworkMap, pid: number, rng: Rng): ParsedAddress | undefined {
  const name = networkMap.pids[pid]
  if (name === undefined) return undefined
  const prefixes = networkMap.prefixesOf(name)
  for (const family of ['ipv4', 'ipv6'] as AddressType[]) {
    const list = prefixes[family] ?? []
    if (list.length === 0) continue
    for (let attempt = 0; attempt < 64; attempt++) {
      const parsed = parseAnyPrefix(list[Math.floor(rng() * list.length)]!)
      if ('error' in parsed) continue
      const bytes = randomInPrefix(parsed.bytes, parsed.length, rng)
      if (networkMap.lookupIndex(family, bytes) === pid) return { family, bytes, text: formatAddress(family, bytes) }
    }
  }
  return undefined
}

function randomInPrefix(base: Uint8Array, length: number, rng: Rng): Uint8Array {
  const bytes = Uint8Array.from(base)
  for (let i = 0; i < bytes.length; i++) {
    const fixedBits = Math.min(8, Math.max(0, length - 8 * i))
    if (fixedBits === 8) continue
    const mask = 0xff >> fixedBits
    bytes[i] = (bytes[i]! & ~mask) | (Math.floor(rng() * 256) & mask)
  }
  return bytes
}

/** PIDs that can hold simulated peers (an address could be drawn in them). */
export function populatedPids(networkMap: NetworkMap, rng: Rng): number[] {
  const out: number[] = []
  for (let pid = 0; pid < networkMap.pids.length; pid++) if (addressInPid(networkMap, pid, rng)) out.push(pid)
  return out
}

/** A tracker swarm entry for a simulated peer (the shape the real tracker stores). */
export function swarmPeerOf(index: number, address: ParsedAddress, seeder: boolean): SwarmPeer {
  const compact = Buffer.alloc(address.bytes.length + 2)
  compact.set(address.bytes)
  compact.writeUInt16BE(6881, address.bytes.length)
  return { key: `peer-${index}`, family: address.family, ip: address.text, port: 6881, bytes: address.bytes, compact, seeder, lastSeen: 0 }
}
