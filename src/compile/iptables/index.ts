export { compileIptables, TOP_CHAIN } from './compile.js';
export * from './ir.js';
export { renderIpsets, renderRules, renderRule, summarize, type IptablesSummary } from './render.js';
