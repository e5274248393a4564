// WGSL snippets shared by kernels.

/**
 * The linear thread index for 1-D kernels launched with `grid1d` (runtime.ts): work beyond 65535
 * workgroups folds into the y dimension, so the index is rebuilt from both.
 */
export const LINEAR_INDEX = /* wgsl */ `
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}`;

/** Entry-point attributes and builtins for a 1-D kernel of 256 threads per workgroup. */
export const MAIN_1D = /* wgsl */ `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`;
