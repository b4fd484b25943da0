import { it } from 'vitest';
import { readObjects } from '../../src/manifests/read.js';
import { collect } from '../../src/manifests/collect.js';
import { Warnings } from '../../src/manifests/context.js';
import { assemble } from '../../src/manifests/assemble.js';
import { resolveOptions } from '../../src/manifests/options.js';
it('big', () => {
  let t = Date.now();
  const objs = readObjects(['/tmp/big.yaml']);
  console.log('read', Date.now() - t); t = Date.now();
  const w = new Warnings();
  const c = collect(objs, w);
  console.log('collect', Date.now() - t); t = Date.now();
  const cl = assemble(c, resolveOptions({}, []), w);
  console.log('assemble', Date.now() - t, cl.pods.length);
});
