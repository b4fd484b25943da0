export { compileIptables, TOP_CHAIN } from './compile.js';
export * from './ir.js';
export { renderIpsets, renderRules, renderRule, streamIpsets, streamRules, summarize, type IptablesSummary } from './render.js';
export type { ChunkSink } from '../text.js';
