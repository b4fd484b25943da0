// `npm install` / `npm ci` hook: builds the native addon with node-gyp, never failing the install.
// When the build fails, netsieve says so once at run time and runs its TypeScript engine instead.
// Headers: Node's own (<prefix>/include/node, shipped by distribution packages and the official
// tarballs) when present, so the build works offline; otherwise node-gyp fetches them as usual.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function nodeGypScript() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try { candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js')); } catch { /* not installed locally */ }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c && existsSync(c));
}

if (process.env.NETSIEVE_NATIVE === 'off') {
  console.log('netsieve: NETSIEVE_NATIVE=off, native addon not built');
  process.exit(0);
}
const gyp = nodeGypScript();
if (!gyp) {
  console.warn('netsieve: node-gyp not found; the native addon was not built (netsieve will use its TypeScript engine)');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', here];
const prefix = join(dirname(process.execPath), '..');
if (existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('netsieve: building the native addon failed; netsieve will use its TypeScript engine');
}
process.exit(0);
