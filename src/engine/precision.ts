// Opt-in reduced precision for the GEMM kernels (matmul/linear and the three conv2d GEMMs), after
// torch.set_float32_matmul_precision: 'highest' (default) multiplies float32 operands; 'medium'
// rounds each operand to float16 as it is staged in workgroup memory and accumulates in float32.
// Tensors stay float32 in memory; only the products lose precision (about 3 significant digits per
// operand, magnitudes beyond 65504 overflow to infinity). WebGPU has no bfloat16, which is what
// PyTorch's 'medium' uses, so engram's 'medium' trades range for mantissa. It needs the
// 'shader-f16' device feature (engram requests it whenever the adapter offers it).

import { runtime, EngramError } from './runtime.js';

/**
 * GEMM operand precision, after torch.set_float32_matmul_precision: 'highest' multiplies float32 operands,
 * 'medium' rounds them to float16 in workgroup memory (float32 accumulation; needs 'shader-f16').
 */
export type MatmulPrecision = 'highest' | 'medium';

let precision: MatmulPrecision = 'highest';

/** Choose the GEMM operand precision for kernels recorded from now on (see the file comment). */
export function setFloat32MatmulPrecision(p: MatmulPrecision): void {
  if (p !== 'highest' && p !== 'medium') {
    throw new EngramError(`setFloat32MatmulPrecision: expected 'highest' or 'medium', got ${JSON.stringify(p)}`);
  }
  if (p === 'medium' && !runtime().hasF16) {
    throw new EngramError(
      "setFloat32MatmulPrecision('medium') needs the WebGPU 'shader-f16' feature, which this adapter " +
        `(${runtime().info.description || runtime().info.vendor}) does not offer; keep 'highest'`,
    );
  }
  precision = p;
}

/** The GEMM operand precision set by `setFloat32MatmulPrecision()` ('highest' by default). */
export function getFloat32MatmulPrecision(): MatmulPrecision {
  return precision;
}

/** True when GEMM kernels should stage their operands as float16. */
export function gemmUsesF16(): boolean {
  return precision === 'medium';
}
