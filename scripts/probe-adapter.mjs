// Exit 0 and print the adapter when WebGPU (Dawn) finds a real adapter; exit 1 otherwise.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.log('no WebGPU adapter');
  process.exit(1);
}
const info = adapter.info;
console.log(`WebGPU adapter: ${info.vendor} / ${info.architecture} / ${info.description}`);
process.exit(0);
