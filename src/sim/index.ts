/**
 * @module sim
 * Simulations that run ALTOkit's real ranking and tracker selection on a virtual clock with
 * seeded randomness, reproducing the experiments of the seed documents. Each scenario returns a
 * {@link ScenarioResult}; `report.ts` prints it or writes it out with SVG charts.
 */
export { runTrackerList, type TrackerListOptions, type TrackerListSummary } from './scenarios/tracker-list.ts'
export { runBittorrent, BANDWIDTH_CLASSES, type BittorrentOptions, type BittorrentSummary, type PolicyOutcome } from './scenarios/bittorrent.ts'
export { runLiveStreaming, LIVE_POLICIES, type LivePolicy, type LiveStreamingOptions, type LiveSummary } from './scenarios/live-streaming.ts'
export { runServerLoad, STRATEGIES, type ServerLoadOptions, type ServerLoadSummary, type Strategy } from './scenarios/server-load.ts'
export { DEFAULT_POLICIES, parsePolicy, type Policy } from './peer-selection.ts'
export { formatTable, formatText, renderIndex, writeReport } from './report.ts'
export { renderChart } from './chart/svg.ts'
export type { SimNetwork } from './network.ts'
export type * from './result.ts'

/** The scenarios `alto simulate` knows, with one line each. */
export const SCENARIOS = {
  'tracker-list': 'seed 002: favourable peers on a random tracker list, exact and Monte Carlo',
  bittorrent: 'seed 000 §4.4.2: BitTorrent swarm, random vs peer-side vs tracker-side ALTO',
  'live-streaming': 'seed 000 §4.1: live streaming over 100 ASes, ALTO vs RTT vs random neighbours',
  'server-load': 'seed 003/001: requests per second at the ALTO server from 30 s epochs',
} as const
