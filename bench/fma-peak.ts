// The adapter's ceiling for arithmetic alone: a kernel that does nothing but chains of vec4
// multiply-adds on registers (no buffer loads inside the loop, one store at the end), with 1 to 32
// independent vec4 accumulators per invocation. No real kernel can run faster than the best row,
// so it is the yardstick for the GFLOP/s of engram's conv and matmul kernels on this adapter (and
// for what a software GPU can reach against PyTorch's CPU kernels on the same cores).
// Each run is timed from submit to onSubmittedWorkDone; best of --runs.
// Usage: npx tsc -p tsconfig.scripts.json && node build/bench/fma-peak.js [--runs 5] [--iters 4096] [--workgroups 128]

import * as E from '../src/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** WGSL: each of 64 invocations per workgroup runs `iters` rounds of `accumulators` independent vec4 FMAs. */
function fmaKernel(accumulators: number, iters: number): string {
  const ids = Array.from({ length: accumulators }, (_, i) => i);
  return /* wgsl */ `// ${accumulators} independent vec4 multiply-add chains per invocation, ${iters} rounds; one store
@group(0) @binding(0) var<storage, read_write> OUT: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${ids.map((i) => `  var a${i} = vec4<f32>(f32(lid) * ${i + 1}.0e-3);`).join('\n')}
  let m = vec4<f32>(0.999);
  let c = vec4<f32>(1.0e-4);
  for (var k = 0u; k < ${iters}u; k++) {
${ids.map((i) => `    a${i} = fma(a${i}, m, c);`).join('\n')}
  }
  OUT[gid.x] = ${ids.map((i) => `a${i}`).join(' + ')};
}`;
}

const rt = await E.init();
const device = rt.device;
const runs = arg('runs', 5);
const iters = arg('iters', 4096);
const workgroups = arg('workgroups', 128);
const out = device.createBuffer({ size: workgroups * 64 * 16, usage: GPUBufferUsage.STORAGE });
console.log(`vec4 FMA chains, ${workgroups} workgroups x 64 invocations x ${iters} rounds, ${rt.info.description}; best of ${runs}`);
console.log('| vec4 accumulators per invocation | ms | GFLOP/s |\n|---:|---:|---:|');
for (const accumulators of [1, 2, 4, 8, 16, 32]) {
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: fmaKernel(accumulators, iters) }), entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] });
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await once(); // compile and warm up
  let best = Infinity;
  for (let r = 0; r < runs; r++) best = Math.min(best, await once());
  const flops = workgroups * 64 * iters * accumulators * 4 * 2;
  console.log(`| ${accumulators} | ${best.toFixed(1)} | ${(flops / best / 1e6).toFixed(1)} |`);
}
out.destroy();
process.exit(0);
