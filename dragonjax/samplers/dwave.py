"""D-Wave QPU backend (optional: ``pip install 'dragonjax[dwave]'``; dwave-system is imported lazily).

:class:`QPUSampler` is a ``dimod.Sampler`` that wraps a structured QPU sampler (a real ``DWaveSampler`` or,
offline, ``dwave.system.testing.MockDWaveSampler``): it finds a minor embedding once per logical coupling
graph with minorminer and reuses it through ``FixedEmbeddingComposite`` -- every conditioned problem of a
network layer has the same graph, only the fields change -- so a training epoch embeds once. Embeddings can be
saved to and loaded from a JSON file.

A QPU call pays a fixed programming time (~15 ms) whatever the problem's size, while a network's conditioned
problems are small (a hundred logical spins, a few hundred qubits of an Advantage's 5640). With ``parallel=k``,
:meth:`QPUSampler.sample_many` packs up to k problems of one coupling graph into one call: k disjoint embeddings
found once (each search avoids the qubits of the ones before), each problem embedded in its own copy with its own
chain strength and scaled into the hardware ranges by its own factor (so each copy is the problem a call of its own
would program; the QPU's auto-scale then has nothing left to do), and each problem's samples unembedded from its
copy. :func:`estimate_access_time_us` is dwave-cloud-client's published QPU timing model with an Advantage's timing
data, to cost a run before submitting it. Failures of the solver (network errors, timeouts, solver unavailable) are
retried with exponential back-off, then raised as :class:`QPUError`; the trainer's per-epoch checkpoints let an
interrupted run resume. ``stats`` accumulates QPU calls, problems, QPU access time (reported and estimated),
the chain-break fraction summed over problems, and the qubits programmed in the last call.
"""
from __future__ import annotations

import functools
import json
import os
import time
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

import dimod
import numpy as np

from ..ising import ProblemError

__all__ = ["QPUError", "QPUSampler", "check_credentials", "estimate_access_time_us", "qpu_sampler"]

PASSED_THROUGH = ("num_reads", "annealing_time", "chain_strength", "auto_scale", "answer_mode", "label")


COPY_SEARCH_TIMEOUT_S = 30.0  # minorminer's own default is 1000 s: a further copy is a saving, not a necessity


class QPUError(RuntimeError):
    """The QPU could not be reached or used (credentials, solver, network)."""


def _dwave_system():
    try:
        import dwave.system
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ProblemError("the D-Wave backend needs dwave-system: pip install 'dragonjax[dwave]'") from None
    return dwave.system


def check_credentials() -> str:
    """The API token from ``DWAVE_API_TOKEN`` or the dwave-cloud-client configuration, or a QPUError."""
    token = os.environ.get("DWAVE_API_TOKEN")
    if not token:
        try:
            from dwave.cloud.config import load_config

            token = load_config().get("token")
        except Exception:  # a missing or unreadable config file means no token
            token = None
    if not token:
        raise QPUError("no D-Wave credentials found: set the DWAVE_API_TOKEN environment variable or run "
                       "`dwave config create` (dragonjax never contacts the QPU without them)")
    return token


class QPUSampler(dimod.Sampler):
    """Embed-once QPU sampler. ``child``: a structured dimod sampler (default: ``DWaveSampler()`` after a
    credentials check). ``chain_strength`` default: dwave-system's uniform torque compensation. ``parallel``: the
    most problems :meth:`sample_many` packs into one call (disjoint embeddings side by side; 1: a call each)."""

    def __init__(self, child: dimod.Sampler | None = None,
                 chain_strength: float | Mapping[Hashable, float] | Callable[..., Any] | None = None,
                 retries: int = 3, backoff_seconds: float = 1.0,
                 embedding_file: str | None = None, seed: int = 0, parallel: int = 1):
        system = _dwave_system()
        if isinstance(parallel, bool) or int(parallel) != parallel or parallel < 1:
            raise ProblemError(f"parallel must be a positive integer (problems per QPU call), got {parallel!r}")
        self.parallel = int(parallel)
        self.retries, self.backoff_seconds = int(retries), float(backoff_seconds)
        if child is None:
            check_credentials()
            child = self._retried(system.DWaveSampler, "could not open a D-Wave solver (token, endpoint, solver name)")
        self.child = child
        self.chain_strength = chain_strength
        self.embedding_file, self.seed = embedding_file, seed
        self.embeddings: dict = {}  # graph -> its first embedding
        self.copies: dict = {}  # graph -> further disjoint embeddings, for packed calls
        self._full: set = set()  # graphs for which no further copy fits
        self.embedding_searches = 0
        self.stats = {"qpu_calls": 0, "qpu_access_time_us": 0.0, "chain_break_fraction_sum": 0.0,
                      "physical_qubits": 0, "problems": 0, "estimated_access_time_us": 0.0}
        self._structures: dict = {}  # (graph, slot) -> dwave.embedding.EmbeddedStructure
        if embedding_file and os.path.exists(embedding_file):
            self.load_embeddings(embedding_file)

    def _retried(self, call, what: str):
        """``call()``, retried with exponential back-off on any failure of the cloud client; then a QPUError."""
        for attempt in range(self.retries + 1):
            try:
                return call()
            except (ProblemError, ValueError, TypeError):
                raise
            except Exception as err:  # bad token, unreachable endpoint, solver not found, timeouts
                if attempt == self.retries:
                    raise QPUError(f"{what}: failed after {self.retries + 1} attempts: {err}") from err
                time.sleep(self.backoff_seconds * 2 ** attempt)

    @property
    def parameters(self) -> dict:
        return {name: [] for name in PASSED_THROUGH}

    @property
    def properties(self) -> dict:
        return {"child_properties": getattr(self.child, "properties", {})}

    # -- embeddings -------------------------------------------------------------------------------------
    @staticmethod
    def _graph_key(bqm):
        return (len(bqm.variables),) + tuple(sorted(tuple(sorted(map(str, e))) for e in bqm.quadratic))

    def embedding_for(self, bqm: dimod.BinaryQuadraticModel) -> dict:
        """The minor embedding of ``bqm``'s coupling graph on the QPU graph: found once per graph (minorminer,
        after a size check) and reused; uncoupled variables get a free qubit each."""
        key = self._graph_key(bqm)
        if key not in self.embeddings:
            target_nodes, target_edges, _ = self.child.structure
            edges = list(bqm.quadratic)
            if len(bqm.variables) > len(target_nodes) or len(edges) > len(target_edges):  # necessary for a minor
                raise ProblemError(f"a problem of {len(bqm.variables)} variables and {len(edges)} couplings cannot "
                                   f"fit the QPU graph ({len(target_nodes)} qubits, {len(target_edges)} couplers); "
                                   f"use a smaller --active-layers / --max-variables")
            embedding = self._search(bqm, set(), slot=0)
            if embedding is None:
                raise ProblemError(f"a problem of {len(bqm.variables)} variables could not be embedded on the QPU "
                                   f"graph; use a smaller --active-layers / --max-variables")
            self.embeddings[key] = embedding
            if self.embedding_file:
                self.save_embeddings(self.embedding_file)
        return self.embeddings[key]

    def embeddings_for(self, bqm: dimod.BinaryQuadraticModel, count: int) -> list[dict]:
        """Up to ``count`` disjoint embeddings of ``bqm``'s coupling graph (the first is :meth:`embedding_for`'s),
        searched once per graph, each on the qubits the earlier ones leave free, until ``count`` or a search fails.
        """
        key = self._graph_key(bqm)
        found = [self.embedding_for(bqm)] + self.copies.setdefault(key, [])
        if len(found) < count and key not in self._full:
            while len(found) < count:
                used = {q for embedding in found for chain in embedding.values() for q in chain}
                embedding = self._search(bqm, used, slot=len(found))
                if embedding is None:  # the graph is full: remember it, so no later call searches again
                    self._full.add(key)
                    break
                found.append(embedding)
                self.copies[key].append(embedding)
            if self.embedding_file:
                self.save_embeddings(self.embedding_file)
        return found[:count]

    def _search(self, bqm, used: set, slot: int) -> dict | None:
        """One embedding search (minorminer, seed ``seed + slot``) on the QPU graph without the ``used`` qubits;
        None if none is found. Uncoupled variables get a free qubit each. Searches for further copies look in a
        region of free qubits grown breadth-first from the lowest-numbered one (8x the first copy's qubits,
        doubled on failure up to the whole free graph): a small target is what keeps minorminer fast, and it packs
        the copies from one corner. Each attempt at a further copy gives up after ``COPY_SEARCH_TIMEOUT_S`` (the
        region may double a few times)."""
        import minorminer

        _, target_edges, target_adjacency = self.child.structure
        edges = list(bqm.quadratic)
        embedding = {}
        self.embedding_searches += 1
        if edges:
            free = [q for q in self.child.nodelist if q not in used]
            size = 8 * sum(len(c) for c in self.embeddings[self._graph_key(bqm)].values()) if used else len(free)
            while True:
                region = _grown_region(free, target_adjacency, used, size)
                allowed = [(p, q) for p, q in target_edges if p in region and q in region]
                embedding = minorminer.find_embedding(edges, allowed, random_seed=self.seed + slot,
                                                      **({"timeout": COPY_SEARCH_TIMEOUT_S} if used else {}))
                if embedding or len(region) == len(free):
                    break
                size *= 2
            if not embedding:
                return None
        missing = [v for v in bqm.variables if v not in embedding]  # isolated variables: a free qubit each
        taken = used | {q for chain in embedding.values() for q in chain}
        free = [q for q in self.child.nodelist if q not in taken]
        if len(free) < len(missing):
            if not used:
                raise ProblemError(f"not enough free qubits for {len(missing)} uncoupled variables; use a smaller "
                                   f"--active-layers / --max-variables")
            return None
        embedding.update({v: [free.pop()] for v in missing})
        return {v: list(chain) for v, chain in embedding.items()}

    def save_embeddings(self, path: str | os.PathLike) -> None:
        """Write every embedding found to ``path`` (JSON)."""
        with open(path, "w") as f:
            json.dump([{"num_variables": k[0], "edges": [list(edge) for edge in k[1:]],
                        "embedding": {str(v): c for v, c in e.items()},
                        "copies": [{str(v): c for v, c in copy.items()} for copy in self.copies.get(k, [])]}
                       for k, e in self.embeddings.items()], f)

    def load_embeddings(self, path: str | os.PathLike) -> None:
        """Read embeddings written by :meth:`save_embeddings`."""
        with open(path) as f:
            for item in json.load(f):
                key = (item["num_variables"],) + tuple(tuple(edge) for edge in item["edges"])
                self.embeddings[key] = _labels(item["embedding"])
                self.copies[key] = [_labels(copy) for copy in item.get("copies", [])]

    # -- sampling ---------------------------------------------------------------------------------------
    def sample(self, bqm: dimod.BinaryQuadraticModel, **kwargs) -> dimod.SampleSet:
        system = _dwave_system()
        params = {k: v for k, v in kwargs.items() if k in PASSED_THROUGH and v is not None}
        if self.chain_strength is not None:
            params.setdefault("chain_strength", self.chain_strength)
        embedding = self.embedding_for(bqm)
        composite = system.FixedEmbeddingComposite(self.child, embedding)

        def call():
            sampleset = composite.sample(bqm, **params)
            sampleset.resolve()
            return sampleset

        sampleset = self._retried(call, "QPU call")
        self._record(sampleset.info, [sampleset], sum(len(c) for c in embedding.values()), params)
        return sampleset

    def _record(self, info, samplesets, physical_qubits, params):
        self.stats["estimated_access_time_us"] += estimate_access_time_us(
            physical_qubits, params.get("num_reads", 1), params.get("annealing_time"))
        self.stats["qpu_calls"] += 1
        self.stats["problems"] += len(samplesets)
        self.stats["qpu_access_time_us"] += float(info.get("timing", {}).get("qpu_access_time", 0.0))
        self.stats["chain_break_fraction_sum"] += sum(float(s.record.chain_break_fraction.mean()) for s in samplesets
                                                      if "chain_break_fraction" in s.record.dtype.names)
        self.stats["physical_qubits"] = int(physical_qubits)

    def sample_many(self, bqms: Iterable[dimod.BinaryQuadraticModel], **kwargs) -> list[dimod.SampleSet]:
        """Sample each of ``bqms`` (``kwargs`` as :meth:`sample`), packing up to :attr:`parallel` problems of one
        coupling graph into each QPU call (module docstring); with ``parallel=1``, one :meth:`sample` call each.
        Returns one sampleset per problem, in order, each unembedded from its own copy, with the energies of its
        own BQM and ``info["packed"]`` = {"copies": problems in the call, "slot": its copy}; ``info["timing"]`` is
        the whole call's, shared by its copies (:attr:`stats` counts it once). With ``auto_scale=False`` the copies
        are programmed as given. A seeded child is not supported here (a QPU takes no seed)."""
        bqms = list(bqms)
        if self.parallel == 1:
            return [self.sample(bqm, **kwargs) for bqm in bqms]
        out = [None] * len(bqms)
        groups: dict = {}
        for i, bqm in enumerate(bqms):
            groups.setdefault(self._graph_key(bqm), []).append(i)
        for members in groups.values():
            embeddings = self.embeddings_for(bqms[members[0]], min(self.parallel, len(members)))
            for start in range(0, len(members), len(embeddings)):
                chunk = members[start:start + len(embeddings)]
                for i, sampleset in zip(chunk, self._packed_call([bqms[i] for i in chunk], embeddings, kwargs)):
                    out[i] = sampleset
        return out

    def _packed_call(self, bqms, embeddings, kwargs):
        """One QPU call with ``bqms[k]`` embedded in ``embeddings[k]``; the per-problem samplesets."""
        from dwave.embedding import EmbeddedStructure, unembed_sampleset

        _, target_edges, _ = self.child.structure
        params = {k: v for k, v in kwargs.items() if k in PASSED_THROUGH and k != "chain_strength" and v is not None}
        chain_strength = kwargs.get("chain_strength", self.chain_strength)
        h_range, j_range = (self.child.properties.get(name, default)
                            for name, default in (("h_range", (-4.0, 4.0)), ("j_range", (-1.0, 1.0))))
        packed = dimod.BinaryQuadraticModel(dimod.SPIN)
        key = self._graph_key(bqms[0])
        for slot, (bqm, embedding) in enumerate(zip(bqms, embeddings)):
            if (key, slot) not in self._structures:
                self._structures[key, slot] = EmbeddedStructure(target_edges, embedding)
            copy = self._structures[key, slot].embed_bqm(bqm, chain_strength=chain_strength,
                                                         smear_vartype=dimod.SPIN).change_vartype(dimod.SPIN)
            if params.get("auto_scale", True):  # as a call of its own would program it (the QPU scales in Ising form)
                copy.scale(1.0 / _autoscale_factor(copy, h_range, j_range))
            packed.update(copy)

        def call():
            response = self.child.sample(packed, **params)
            response.resolve()
            return response

        response = self._retried(call, "QPU call")
        samplesets = []
        for slot, (bqm, embedding) in enumerate(zip(bqms, embeddings)):
            sampleset = unembed_sampleset(response, embedding, bqm, chain_break_fraction=True)
            sampleset.info.update(response.info, packed={"copies": len(bqms), "slot": slot})
            samplesets.append(sampleset)
        self._record(response.info, samplesets, len(packed.variables), params)
        return samplesets


def _grown_region(free: list, adjacency: dict, used: set, size: int) -> set:
    """Up to ``size`` free qubits, breadth-first from the lowest-numbered free qubit (then from the next unreached
    one while the region is short)."""
    if size >= len(free):
        return set(free)
    region: set = set()
    for start in free:
        if start in region:
            continue
        frontier = [start]
        region.add(start)
        while frontier and len(region) < size:
            nxt = []
            for q in frontier:
                for r in adjacency[q]:
                    if r not in used and r not in region and len(region) < size:
                        region.add(r)
                        nxt.append(r)
            frontier = nxt
        if len(region) >= size:
            break
    return region


@functools.lru_cache(maxsize=1)
def _timing_model():
    from dwave.cloud.solver import StructuredSolver
    from dwave.cloud.testing.mocks import qpu_pegasus_solver_data, qpu_problem_timing_data

    data = qpu_pegasus_solver_data(2, problem_timing_data=qpu_problem_timing_data("advantage"))
    return StructuredSolver(client=None, data=data)


def _labels(embedding: dict) -> dict:
    return {int(v) if v.isdigit() else v: c for v, c in embedding.items()}


def _autoscale_factor(bqm, h_range, j_range) -> float:
    """The factor a QPU's auto-scale divides ``bqm`` (SPIN) by: the largest ratio of a bias to the bound of its
    range on its side (1 when every bias is 0)."""
    ratios = [0.0]
    for biases, (low, high) in ((np.fromiter(bqm.linear.values(), float), h_range),
                                (np.fromiter(bqm.quadratic.values(), float), j_range)):
        if biases.size:
            ratios.append(float(np.max(np.where(biases > 0, biases / high, biases / low))))
    return max(ratios) or 1.0


def estimate_access_time_us(num_qubits: int, num_reads: int, annealing_time: float | None = None,
                            calls: int = 1) -> float:
    """Estimated QPU access time (microseconds) of ``calls`` calls, each of ``num_reads`` reads programming
    ``num_qubits`` qubits: dwave-cloud-client's QPU timing model (``StructuredSolver.estimate_qpu_access_time``)
    with the ``problem_timing_data`` of an Advantage system (Advantage_system4.1, August 2022, as dwave-cloud-client
    ships it). An estimate: timing data differ between systems and over time."""
    return calls * float(_timing_model().estimate_qpu_access_time(int(num_qubits), num_reads=int(num_reads),
                                                         annealing_time=annealing_time))


MOCK_TOPOLOGY = ("pegasus", (16,))  # an Advantage-sized graph: Pegasus P16, 5640 qubits


def qpu_sampler(mock: bool = False, topology: tuple[str, Sequence[int]] = MOCK_TOPOLOGY, **kwargs) -> QPUSampler:
    """A real QPU sampler (needs credentials) or, with ``mock=True``, one on an offline MockDWaveSampler of the
    ``topology`` (type, shape) -- default an Advantage-sized Pegasus P16 (dwave-system's own mock default is a
    small P3)."""
    if mock:
        from dwave.system.testing import MockDWaveSampler

        kind, shape = topology
        return QPUSampler(MockDWaveSampler(topology_type=kind, topology_shape=list(shape)), **kwargs)
    return QPUSampler(**kwargs)
