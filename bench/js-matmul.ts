// The in-process CPU peer for the matmul benchmark: a plain JavaScript Float32Array matmul in
// i-k-j loop order (row-major, cache-friendly inner loop), the fastest simple form in V8.

export function jsMatmul(a: Float32Array, b: Float32Array, n: number): Float32Array {
  const c = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[ci + k]!;
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + aik * b[bk + j]!;
    }
  }
  return c;
}

/** Median milliseconds of `runs` calls of the JS matmul at size n. */
export function timeJsMatmul(n: number, runs: number): number {
  const a = new Float32Array(n * n).map((_, i) => Math.sin(i));
  const b = new Float32Array(n * n).map((_, i) => Math.cos(i));
  jsMatmul(a, b, n); // warm-up (JIT)
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    jsMatmul(a, b, n);
    t.push(performance.now() - t0);
  }
  t.sort((x, y) => x - y);
  return t[Math.floor(t.length / 2)]!;
}
