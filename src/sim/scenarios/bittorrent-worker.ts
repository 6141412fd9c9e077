/**
 * @module sim/scenarios/bittorrent-worker
 * Worker-thread side of the BitTorrent scenario: builds the context once from the setup, then
 * runs the policies it is sent.
 */
import { serveTasks } from '../pool.ts'
import { contextOf, runPolicy, type BittorrentContext, type BittorrentSetup } from './bittorrent-model.ts'

serveTasks<BittorrentContext, string, ReturnType<typeof runPolicy>>(
  (data) => contextOf(data as BittorrentSetup),
  (ctx, policy, progress) => runPolicy(ctx, policy, progress),
)
