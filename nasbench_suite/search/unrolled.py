"""The second-order α gradient of DARTS (Liu et al., 2019, eq. 7-8).

    ∇α L_val(w', α) − ξ · ∇²_{α,w} L_train(w, α) · ∇_{w'} L_val(w', α),
    w' = w − ξ · (∇_w L_train(w, α) + weight_decay·w + momentum·m)   (the virtual SGD step)

The Hessian-vector product is a central finite difference with R = 0.01 / ‖∇_{w'} L_val‖, as in
the DARTS code.
The network is called functionally on w' and w ± R·v, so no model copy is made; the
BatchNorm running statistics of these extra passes are thrown away.
"""

import torch
from torch.func import functional_call


def unrolled_arch_backward(model, method, w_opt, train_batch, val_batch, loss_fn, scale=0.01) -> torch.Tensor:
    """Set α.grad to the unrolled gradient; return the validation loss at w'.

    `scale` is the finite difference's step as a norm in weight space (DARTS: 0.01).
    """
    group = w_opt.param_groups[0]
    lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
    names, weights = zip(*[(n, p) for n, p in model.named_parameters()])
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    alphas = list(method.alpha.values())

    def loss_at(params, batch, mix):
        x, y = batch
        return loss_fn(functional_call(model, ({**dict(zip(names, params)), **buffers}), (x, mix)), y)

    train_grads = torch.autograd.grad(loss_at(weights, train_batch, {t: m.detach() for t, m in method.mix().items()}), weights)
    with torch.no_grad():
        virtual = []
        for w, g in zip(weights, train_grads):
            buf = w_opt.state.get(w, {}).get("momentum_buffer")
            step = g + wd * w + (momentum * buf if buf is not None else 0)
            virtual.append((w - lr * step).requires_grad_())

    mix = method.mix()
    val_loss = loss_at(virtual, val_batch, mix) + method.regularizer(mix)[0]
    grads = torch.autograd.grad(val_loss, alphas + virtual, allow_unused=True)
    alpha_grads, v = grads[: len(alphas)], [g if g is not None else torch.zeros_like(w) for g, w in zip(grads[len(alphas):], virtual)]

    radius = scale / torch.cat([g.flatten() for g in v]).norm()
    implicit = []
    for sign in (1.0, -1.0):
        with torch.no_grad():
            shifted = [w + sign * radius * g for w, g in zip(weights, v)]
        implicit.append(torch.autograd.grad(loss_at(shifted, train_batch, method.mix()), alphas))
    for a, g_val, g_plus, g_minus in zip(alphas, alpha_grads, *implicit):
        hessian_term = (g_plus - g_minus) / (2 * radius)
        a.grad = (g_val if g_val is not None else torch.zeros_like(a)) - lr * hessian_term
    return val_loss.detach()
