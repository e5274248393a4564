#!/usr/bin/env python3
# The PyTorch peer of the side-by-side benchmark (bench/compare.ts runs it as a separate process).
# Usage: python3 bench/peers/torch_peer.py <workloads.json> [--device cpu|cuda] [--runs N] [--warmup N] [--max-seconds S]
# workloads.json is a JSON array of the Workload objects of bench/workloads.ts; each one is rebuilt
# here in PyTorch (float32, NCHW) with the same shapes and semantics, and timed with the same
# policy as compare.ts's timeRun so the numbers are comparable. stdout carries only JSON lines (a
# header line, then one line per workload); everything for humans goes to stderr.
# On the CPU it uses every core. On CUDA it keeps float32 exact (TF32 off for matmul and cuDNN, so
# it does the same arithmetic as engram's float32 path) and a run ends at torch.cuda.synchronize().

import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_layers import prepare_layer


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def emit(obj):
    print(json.dumps(obj), flush=True)


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown cpu'


# ---- models (mirroring bench/engram-peer.ts and src/models/*.ts layer for layer) ----

def ref_model():
    # engram's Conv2d has a bias by default, so these do too.
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4096, 10),
    )


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10),
    )


def cifar_block(cin, cout):
    return [
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25),
    ]


def cifar_cnn():
    return nn.Sequential(
        *cifar_block(3, 64), *cifar_block(64, 128), *cifar_block(128, 256),
        nn.Flatten(), nn.Linear(4096, 512), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(512, 10),
    )


MODELS = {
    'ref': (ref_model, (3, 32, 32)),
    'mnist-cnn': (mnist_cnn, (1, 28, 28)),
    'cifar-cnn': (cifar_cnn, (3, 32, 32)),
}


# ---- workloads: each returns a zero-argument function doing one run ----

def prepare(w, dev):
    kind = w['kind']
    if kind == 'matmul':
        n = w['n']
        a = torch.randn(n, n, device=dev)
        b = torch.randn(n, n, device=dev)

        def run():
            torch.matmul(a, b)
        return run

    if kind == 'conv':
        x = torch.randn(w['batch'], w['cin'], w['size'], w['size'], device=dev)
        wt = torch.randn(w['cout'], w['cin'], 3, 3, device=dev)
        if not w['backward']:
            def run_fwd():
                with torch.no_grad():
                    F.conv2d(x, wt, None, stride=1, padding=1)
            return run_fwd
        x.requires_grad_(True)
        wt.requires_grad_(True)
        dy = torch.randn(w['batch'], w['cout'], w['size'], w['size'], device=dev)

        def run_bwd():
            x.grad = None
            wt.grad = None
            y = F.conv2d(x, wt, None, stride=1, padding=1)
            (y * dy).sum().backward()
        return run_bwd

    if kind == 'train':
        if w['model'] not in MODELS:
            raise ValueError(f"unknown model {w['model']!r}")
        build, shape = MODELS[w['model']]
        model = build().to(dev)
        model.train()
        x = torch.randn(w['batch'], *shape, device=dev)
        labels = torch.randint(0, 10, (w['batch'],), device=dev)
        loss_fn = nn.CrossEntropyLoss()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def run_train():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), labels)
            loss.backward()
            opt.step()
        return run_train

    if kind == 'layer':
        return prepare_layer(w, dev)

    raise ValueError(f'unknown workload kind {kind!r}')


def time_run(run, runs, warmup, max_seconds, sync):
    # Same policy as compare.ts timeRun: warm-up, then up to `runs` timed runs, stopping once the
    # timed loop has used `max_seconds` (the check follows each run, so at least one is timed).
    # A run has finished when sync() returns (a no-op on the CPU, whose ops are synchronous).
    for _ in range(warmup):
        run()
    sync()
    samples = []
    cpu = []
    start = time.perf_counter()
    for _ in range(max(1, runs)):
        c0 = time.process_time()
        t0 = time.perf_counter()
        run()
        sync()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)  # this process's CPU time, all threads
        if time.perf_counter() - start > max_seconds:
            break
    # compare.ts takes sorted[floor(n/2)] (the upper median for even n); match it exactly.
    s = sorted(samples)
    return {'medianMs': s[len(s) // 2], 'minMs': s[0], 'runs': len(s), 'cpuMs': sorted(cpu)[len(cpu) // 2]}


def main():
    p = argparse.ArgumentParser(description='PyTorch peer for bench/compare.ts')
    p.add_argument('workloads')
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    p.add_argument('--runs', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--max-seconds', type=float, default=60)
    args = p.parse_args()

    with open(args.workloads) as f:
        workloads = json.load(f)

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    dev = torch.device(args.device)
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('torch_peer.py: --device cuda but torch.cuda.is_available() is False')
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        sync = torch.cuda.synchronize
        where = torch.cuda.get_device_name(0)
    else:
        def sync():
            pass
        where = cpu_model()
    emit({'peer': f'pytorch {torch.__version__} {args.device}', 'threads': torch.get_num_threads(), 'device': where})
    log(f'pytorch {torch.__version__} on {args.device}: {torch.get_num_threads()} CPU threads, {where}')

    for w in workloads:
        name = w.get('name', '?')
        try:
            torch.manual_seed(0)
            run = prepare(w, dev)
            r = time_run(run, args.runs, args.warmup, args.max_seconds, sync)
            note = getattr(run, 'note', None)
            emit({'name': name, **r, **({'note': note} if note else {})})
            log(f'  {name}: {r["medianMs"]:.2f} ms median, {r["minMs"]:.2f} ms min ({r["runs"]} runs)')
        except Exception as e:  # one workload's failure must not stop the others
            emit({'name': name, 'error': f'{type(e).__name__}: {e}'})
            log(f'  {name}: error: {type(e).__name__}: {e}')


if __name__ == '__main__':
    main()
