// Runs once before the suite: finds the WebGPU adapter, prints it, and fails the run when there is
// none (tests never skip for want of a GPU; see README 'Running without a GPU').
import { init, runtime } from '../../src/index.js';
import { assertExecutingAdapter } from './gpu.js';

export default async function setup(): Promise<void> {
  await init();
  const info = runtime().info;
  assertExecutingAdapter(info);
  console.log(`engram tests on WebGPU adapter: ${info.vendor} / ${info.architecture} / ${info.description} (${info.source}; shader-f16: ${info.features.includes('shader-f16') ? 'yes' : 'no'})`);
  runtime().destroy();
}
