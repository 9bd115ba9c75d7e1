"""A real annealer's imperfections, emulated in front of any sampler: :class:`NoisyComposite`.

On every call a QPU (1) auto-scales the programmed problem into its coupler and field ranges, (2) realises it with
integrated control errors -- random offsets of every h and J, drawn anew for each call, of order a few percent of
the coupler range -- (3) at a finite precision, and (4) reads each qubit with a small error. The composite does
these four steps, in that order, to the BQM it is given, lets its child sample the perturbed problem, and returns
the child's states with their energies under the *original* BQM (what a user of the hardware sees).

Units: ``coupling_noise`` and ``field_noise`` are standard deviations in units of the ranges' upper ends (the
hardware scale; with the default ranges, of J = 1 and h = 4); ``precision_bits`` b quantises each range onto 2^b
equally spaced levels; ``readout_error`` is the probability that a returned spin is flipped. Zero noise, no
quantisation and no readout error pass the BQM to the child unchanged (auto-scaling alone changes nothing
physical), so the composite then returns exactly the child's samples.
"""
from __future__ import annotations

from typing import Sequence

import dimod
import numpy as np

__all__ = ["NoisyComposite"]


def _check_range(name, value):
    low, high = (float(v) for v in value)
    if not (np.isfinite(low) and np.isfinite(high) and low < 0 < high):
        raise ValueError(f"{name} must be (low, high) with low < 0 < high, got {value!r}")
    return low, high


class NoisyComposite(dimod.ComposedSampler):
    """Emulated hardware noise around ``child`` (module docstring).

    Args:
        child: any ``dimod.Sampler``.
        coupling_noise, field_noise: standard deviations of the Gaussian errors added to every scaled coupling and
            field on each call, in units of ``coupling_range[1]`` and ``field_range[1]``.
        precision_bits: quantise scaled couplings and fields to 2^bits levels of their ranges (None: exact).
        coupling_range, field_range: the hardware ranges the problem is auto-scaled into (and clipped to after
            the errors), as (low, high) with low < 0 < high.
        readout_error: probability that each returned spin is flipped.
        seed: seed of the noise (each call draws new errors from one generator).
    """

    def __init__(self, child: dimod.Sampler, coupling_noise: float = 0.0, field_noise: float = 0.0,
                 precision_bits: int | None = None, coupling_range: Sequence[float] = (-1.0, 1.0),
                 field_range: Sequence[float] = (-4.0, 4.0), readout_error: float = 0.0, seed: int | None = None):
        for name, value in (("coupling_noise", coupling_noise), ("field_noise", field_noise)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if not 0.0 <= readout_error <= 1.0:
            raise ValueError(f"readout_error must be a probability in [0, 1], got {readout_error!r}")
        if precision_bits is not None and (isinstance(precision_bits, bool) or int(precision_bits) != precision_bits
                                           or precision_bits < 1):
            raise ValueError(f"precision_bits must be a positive integer or None, got {precision_bits!r}")
        self._children = [child]
        self.coupling_noise, self.field_noise = float(coupling_noise), float(field_noise)
        self.precision_bits = None if precision_bits is None else int(precision_bits)
        self.coupling_range = _check_range("coupling_range", coupling_range)
        self.field_range = _check_range("field_range", field_range)
        self.readout_error = float(readout_error)
        self.rng = np.random.default_rng(seed)

    @property
    def children(self):
        """The wrapped sampler, as dimod's composites list it."""
        return self._children

    @property
    def parameters(self) -> dict:
        """The child's parameters (all passed on to it)."""
        return dict(self.child.parameters)

    @property
    def properties(self) -> dict:
        """The noise settings and the child's properties."""
        return {"child_properties": self.child.properties, "coupling_noise": self.coupling_noise,
                "field_noise": self.field_noise, "precision_bits": self.precision_bits,
                "coupling_range": self.coupling_range, "field_range": self.field_range,
                "readout_error": self.readout_error}

    @property
    def noiseless(self) -> bool:
        """No errors, no quantisation, no readout error: the child sees the BQM unchanged."""
        return (self.coupling_noise == 0 and self.field_noise == 0 and self.precision_bits is None
                and self.readout_error == 0)

    def _quantise(self, values, value_range):
        low, high = value_range
        step = (high - low) / (2 ** self.precision_bits - 1)
        return low + np.round((values - low) / step) * step

    def perturb(self, bqm: dimod.BinaryQuadraticModel) -> tuple[dimod.BinaryQuadraticModel, float]:
        """The problem the hardware realises on one call: ``bqm`` (as SPIN) divided by the auto-scale factor,
        plus the control errors, clipped to the ranges, quantised; and the factor. Draws from :attr:`rng`."""
        spin = bqm.spin
        labels = list(spin.variables)
        h, (row, col, j), _ = spin.to_numpy_vectors(variable_order=labels)
        h, j = np.asarray(h, np.float64), np.asarray(j, np.float64)
        (c_low, c_high), (f_low, f_high) = self.coupling_range, self.field_range
        ratios = [0.0]  # the QPU's auto-scale: the largest ratio of a bias to its range's bound on that side
        if h.size:
            ratios += [np.max(np.where(h > 0, h / f_high, h / f_low))]
        if j.size:
            ratios += [np.max(np.where(j > 0, j / c_high, j / c_low))]
        scale = float(max(ratios)) or 1.0
        h, j = h / scale, j / scale
        h = np.clip(h + self.rng.normal(0.0, self.field_noise * f_high, h.shape), f_low, f_high)
        j = np.clip(j + self.rng.normal(0.0, self.coupling_noise * c_high, j.shape), c_low, c_high)
        if self.precision_bits is not None:
            h, j = self._quantise(h, self.field_range), self._quantise(j, self.coupling_range)
        realised = dimod.BinaryQuadraticModel.from_numpy_vectors(h, (row, col, j), 0.0, dimod.SPIN,
                                                                 variable_order=labels)
        return realised, scale

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters) -> dimod.SampleSet:
        """Sample ``bqm`` through the emulated hardware: perturb it (:meth:`perturb`), sample the realised problem
        with the child (``parameters`` passed on), flip each returned spin with probability ``readout_error``, and
        return the states in ``bqm``'s vartype with their energies under ``bqm``. ``info`` holds the child's info
        and ``noise`` (the settings and the auto-scale factor)."""
        if self.noiseless:
            return self.child.sample(bqm, **parameters)
        realised, scale = self.perturb(bqm)
        child = self.child.sample(realised, **parameters)
        labels = list(realised.variables)
        record = child.record if child.vartype is dimod.SPIN else child.change_vartype(dimod.SPIN, inplace=False).record
        spins = np.asarray(record.sample[:, [child.variables.index(v) for v in labels]], np.int8)
        if self.readout_error > 0:
            flips = self.rng.random(spins.shape) < self.readout_error
            spins = np.where(flips, -spins, spins).astype(np.int8)
        samples = spins if bqm.vartype is dimod.SPIN else ((spins + 1) // 2).astype(np.int8)
        info = {**child.info, "noise": {**self.properties, "auto_scale": scale}}
        info["noise"].pop("child_properties")
        return dimod.SampleSet.from_samples_bqm((samples, labels), bqm, info=info)
