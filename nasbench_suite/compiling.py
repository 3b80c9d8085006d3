"""torch.compile for `run`, `sweep`, `tune` and `train`: which mode `--compile auto` means on a
device, the compile cache all processes share, and the way back to eager where compiling fails.

`auto` is what `nasbench-suite bench` measured fastest: on an H200 the nb201 darts search step
took 229.8 ms eager (the fast path) and 52.9 ms compiled with reduce-overhead (CUDA graphs);
on a 2-core CPU compiling costs minutes of C++ compilation for no measured gain, so there
`auto` is off. Torch is imported only inside the functions: flags are checked before it loads.
"""

from __future__ import annotations

import os

MODES = ("auto", "off", "default", "reduce-overhead", "max-autotune")
AUTO = {"cuda": "reduce-overhead"}  # device type -> the mode auto means there; elsewhere off


def resolve(mode: str, device_type: str, unrolled: bool = False) -> str:
    """The mode that runs: auto becomes the device's fastest measured one. The unrolled
    (second-order) α step calls the network functionally and runs uncompiled, so auto is off
    there (an explicit mode with it is refused by `run`)."""
    if mode != "auto":
        return mode
    return "off" if unrolled else AUTO.get(device_type, "off")


def share_cache() -> None:
    """Inductor's compiled graphs and AOT autograd's on disk in one folder
    ($TORCHINDUCTOR_CACHE_DIR, else <suite cache>/compile), so N workers, N trials or a resumed
    run of one shape compile once and load it after. A folder the user set is kept."""
    import torch._functorch.config
    import torch._inductor.config

    from nasbench_suite.paths import cache_dir

    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "compile"))
    torch._inductor.config.fx_graph_cache = True
    torch._functorch.config.enable_autograd_cache = True


def compile_modules(modules, mode: str, backend: str | None = None) -> None:
    """torch.compile each module in place, static shapes. Modules whose forward is the same code
    share their compiled graphs (one per shape and guard set, not one per module). `backend`
    None: $NASBENCH_COMPILE_BACKEND, else inductor (a cheap one, aot_eager, lets a script be
    rehearsed on a CPU in seconds)."""
    import torch

    backend = backend or os.environ.get("NASBENCH_COMPILE_BACKEND") or "inductor"
    share_cache()
    # nb201: 3 shapes x 2 step kinds; darts: 7 x 2, over torch's default of 8 per code object
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    options = {"mode": None if mode == "default" else mode} if backend == "inductor" else {}
    for module in modules:
        module.compile(backend=backend, dynamic=False, **options)


def uncompile(modules) -> None:
    """Undo compile_modules: nn.Module.compile keeps its compiled call here, and None is eager."""
    for module in modules:
        module._compiled_call_impl = None


def first_step(step, get_state, set_state, go_eager, mode: str, say):
    """Run a compiled run's first step (where torch.compile compiles), guarded: where it
    raises, the state get_state() gave before it and the random state are restored, `say`
    gets one line, go_eager() turns the run eager, and the step runs again. Returns its result."""
    import copy

    import torch

    cuda = torch.cuda.is_initialized()
    before = copy.deepcopy(get_state()), torch.get_rng_state(), torch.cuda.get_rng_state_all() if cuda else None
    try:
        return step()
    except Exception as err:  # the compiler's, whatever its kind: eager computes the same
        set_state(before[0])
        torch.set_rng_state(before[1])
        if cuda:
            torch.cuda.set_rng_state_all(before[2])
        say(fallback_line(mode, err))
        go_eager()
        return step()


def fallback_line(mode: str, err: BaseException) -> str:
    """The one line a run prints when compiling failed and it goes on eager."""
    first = (str(err).strip().splitlines() or [""])[0][:200]
    return f"compiling ({mode}) failed, running eager instead: {type(err).__name__}: {first}"
