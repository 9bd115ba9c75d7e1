"""Progress reports from inside jitted loops.

A kernel built with ``progress=True`` calls :func:`report` in its ``lax.scan`` body (or
:func:`report_fraction` in a while loop of unknown length); about ``updates`` times per run (and at the
last step) an unordered ``io_callback`` hands ``(done, total)`` to the host,
where every listener registered with :func:`listening` receives it. With ``progress=False`` (the
default) nothing is compiled in, so the kernels stay pure and their results are identical either way.

    with listening(lambda done, total: print(done, total)):
        population_annealing(..., progress=True)
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback
from jax.typing import ArrayLike

if TYPE_CHECKING:  # imported where it is used, as the kernels need no tqdm
    from tqdm import tqdm

__all__ = ["UPDATES", "report", "report_fraction", "scan", "listening", "tqdm_listener"]

UPDATES = 20
_LISTENERS: list = []


def _emit(done, total):
    for listener in list(_LISTENERS):
        listener(int(done), int(total))


def report(done: ArrayLike, total: int, updates: int = UPDATES, stride: int = 1) -> None:
    """Inside a traced loop: emit ``(done, total)`` when ``done`` (1-based step, traced) reaches a multiple of
    total // updates -- or passes one, for loops that advance ``stride`` steps at a time -- or equals ``total``
    (a Python int)."""
    every = max(1, int(total) // updates)
    due = (done // every > (done - stride) // every) | (done == total)

    def emit(done):
        io_callback(_emit, None, done, np.int32(total), ordered=False)

    jax.lax.cond(due, emit, lambda done: None, done)


def report_fraction(previous: ArrayLike, current: ArrayLike, updates: int = UPDATES) -> None:
    """Inside a traced loop whose length is not known in advance (e.g. an adaptive schedule): emit
    ``(k, updates)`` when the fraction done (traced, in [0, 1]) crosses k / updates."""
    before = jnp.floor(updates * previous).astype(jnp.int32)
    after = jnp.floor(updates * current).astype(jnp.int32)

    def emit(done):
        io_callback(_emit, None, done, np.int32(updates), ordered=False)

    jax.lax.cond(after > before, emit, lambda done: None, jnp.minimum(after, updates))


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, progress: bool = False,
         updates: int = UPDATES) -> tuple[Any, Any]:
    """``lax.scan(f, init, xs)`` that reports its progress when ``progress`` is true."""
    if not progress:
        return jax.lax.scan(f, init, xs)
    length = jax.tree_util.tree_leaves(xs)[0].shape[0]

    def body(carry, inputs):
        step, x = inputs
        carry, y = f(carry, x)
        report(step + 1, length, updates)
        return carry, y

    return jax.lax.scan(body, init, (jnp.arange(length, dtype=jnp.int32), xs))


@contextlib.contextmanager
def listening(listener: Callable[[int, int], object]) -> Iterator[Callable[[int, int], object]]:
    """Register ``listener(done, total)`` for the kernels run inside the ``with`` block."""
    _LISTENERS.append(listener)
    try:
        yield listener
    finally:
        jax.effects_barrier()  # callbacks of a sharded run can arrive after its result; wait for them
        _LISTENERS.remove(listener)


@contextlib.contextmanager
def tqdm_listener(description: str, unit: str = "step") -> Iterator[tqdm]:
    """A tqdm bar driven by the kernels' reports (callbacks may arrive out of order; the bar only
    moves forward)."""
    from tqdm.auto import tqdm

    bar = tqdm(desc=description, unit=unit, total=None)

    def update(done, total):
        if bar.total != total:
            bar.reset(total=total)
        if done > bar.n:
            bar.update(done - bar.n)

    try:
        with listening(update):
            yield bar
    finally:
        bar.close()
