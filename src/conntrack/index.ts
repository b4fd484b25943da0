/**
 * Connection tracking shared by both dataplanes: kernel conntrack semantics over FlowBatch rows.
 * See track.ts for the per-row protocol (track -> matcher -> confirm).
 */
export {
  track, confirm, laterFragmentVerdict, FRAGMENT_WITHOUT_FIRST, entryFor, listEntries, type EntryView, type EntryListing,
} from './track.js';
export { DEFAULT_CONNTRACK_CAPACITY, newConntrack, clearConntrack, conntrackStats, Status, type Conntrack, type ConntrackOptions, type ConntrackStats } from './state.js';
export { DEFAULT_TIMEOUTS, TcpState, TCP_STATE_NAMES, SctpState, type Timeouts } from './timeouts.js';
export { MAX_CONNTRACK_CAPACITY } from './table.js';
