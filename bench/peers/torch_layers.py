# PyTorch's implementation of the layer benchmark's rows (bench/layer-workloads.ts), used by
# torch_peer.py for workloads of kind 'layer'. Same semantics as bench/engram-layers.ts: nn modules
# with PyTorch's defaults, "fwd" under torch.no_grad(), "fwd+bwd" = forward, then the gradients of
# sum(y * dy) with respect to the input and every parameter (gradients set to None before each run),
# losses with mean reduction (KL divergence 'batchmean'), one RMSprop step with fixed gradients.
# The returned function may carry a `note` attribute (how a row is implemented where that needs
# saying); torch_peer.py passes it on to the runner.

import torch
import torch.nn as nn
import torch.nn.functional as F


def _module(w, C):
    p = w['p']
    s = w['shape']
    layer = w['layer']
    if layer == 'layerNorm':
        return nn.LayerNorm(s[-1])
    if layer == 'groupNorm':
        return nn.GroupNorm(p['groups'], C)
    if layer == 'gelu':
        return nn.GELU()
    if layer == 'silu':
        return nn.SiLU()
    if layer == 'leakyRelu':
        return nn.LeakyReLU(0.01)
    if layer == 'elu':
        return nn.ELU(1.0)
    if layer == 'hardswish':
        return nn.Hardswish()
    if layer == 'conv1d':
        return nn.Conv1d(C, p['cout'], p['k'], stride=p['stride'], padding=p['pad'], groups=p['groups'])
    if layer == 'convTranspose2d':
        return nn.ConvTranspose2d(C, p['cout'], p['k'], stride=p['stride'], padding=p['pad'])
    if layer in ('depthwiseConv2d', 'groupedConv2d', 'conv2d'):
        return nn.Conv2d(C, p['cout'], p['k'], stride=p['stride'], padding=p['pad'], groups=p['groups'])
    if layer == 'transformerEncoderLayer':
        return nn.TransformerEncoderLayer(s[2], p['heads'], dim_feedforward=p['ff'], dropout=p['dropout'], batch_first=True)
    return None


def prepare_layer(w, dev):
    """Returns a zero-argument function doing one run of layer workload `w` on device `dev`."""
    layer = w['layer']
    shape = w['shape']
    backward = w['backward']

    if layer == 'rmsprop':
        params = [torch.randn(*shape, device=dev, requires_grad=True), torch.randn(shape[0], device=dev, requires_grad=True)]
        for t in params:
            t.grad = torch.randn_like(t)
        opt = torch.optim.RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8)

        def run_step():
            opt.step()
        return run_step

    scalar = False
    note = None
    if layer in ('mseLoss', 'l1Loss', 'smoothL1Loss', 'binaryCrossEntropy', 'klDiv'):
        scalar = True
        if layer == 'binaryCrossEntropy':
            inp = (torch.rand(*shape, device=dev) * 0.98 + 0.01).requires_grad_(True)
            target = torch.rand(*shape, device=dev)
            f = F.binary_cross_entropy
        elif layer == 'klDiv':
            inp = torch.log_softmax(torch.randn(*shape, device=dev), -1).requires_grad_(True)
            target = torch.softmax(torch.randn(*shape, device=dev), -1)

            def f(a, b):
                return F.kl_div(a, b, reduction='batchmean')
        else:
            inp = torch.randn(*shape, device=dev, requires_grad=True)
            target = torch.randn(*shape, device=dev)
            f = {'mseLoss': F.mse_loss, 'l1Loss': F.l1_loss, 'smoothL1Loss': F.smooth_l1_loss}[layer]
        leaves = [inp]

        def forward():
            return f(inp, target)
    elif layer == 'embedding':
        m = nn.Embedding(w['p']['vocab'], w['p']['dim']).to(dev)
        idx = torch.randint(0, w['p']['vocab'], tuple(shape), device=dev)
        leaves = list(m.parameters())

        def forward():
            return m(idx)
    elif layer == 'sdpa':
        q, k, v = (torch.randn(*shape, device=dev, requires_grad=backward) for _ in range(3))
        leaves = [q, k, v]
        if hasattr(F, 'scaled_dot_product_attention'):
            def forward():
                return F.scaled_dot_product_attention(q, k, v)
        else:
            # PyTorch < 2.0 has no F.scaled_dot_product_attention: its math, as 2.x's math path.
            note = 'no F.scaled_dot_product_attention before PyTorch 2.0: composed, matmul(softmax(q @ k^T * scale), v)'
            scale = shape[-1] ** -0.5

            def forward():
                return torch.matmul(torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, -1), v)
    elif layer == 'multiheadAttention':
        m = nn.MultiheadAttention(shape[2], w['p']['heads'], batch_first=True).to(dev)
        x = torch.randn(*shape, device=dev, requires_grad=backward)
        leaves = [x, *m.parameters()]

        def forward():
            # need_weights=False: the output only, as engram's forward.
            return m(x, x, x, need_weights=False)[0]
    else:
        m = _module(w, shape[1])
        if m is None:
            raise ValueError(f'unknown layer {layer!r}')
        m = m.to(dev)
        m.train()
        x = torch.randn(*shape, device=dev, requires_grad=backward)
        leaves = [x, *m.parameters()]

        def forward():
            return m(x)

    if not backward:
        def run_fwd():
            with torch.no_grad():
                forward()
        run_fwd.note = note
        return run_fwd

    dy = None
    if not scalar:
        with torch.no_grad():
            dy = torch.randn_like(forward())

    def run_bwd():
        for t in leaves:
            t.grad = None
        y = forward()
        (y if dy is None else (y * dy).sum()).backward()
    run_bwd.note = note
    return run_bwd
