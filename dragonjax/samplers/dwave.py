"""D-Wave QPU backend (optional: ``pip install 'dragonjax[dwave]'``; dwave-system is imported lazily).

:class:`QPUSampler` is a ``dimod.Sampler`` that wraps a structured QPU sampler (a real ``DWaveSampler`` or,
offline, ``dwave.system.testing.MockDWaveSampler``): it finds a minor embedding once per logical coupling
graph with minorminer and reuses it through ``FixedEmbeddingComposite`` -- every conditioned problem of a
network layer has the same graph, only the fields change -- so a training epoch embeds once. Embeddings can be
saved to and loaded from a JSON file. Failures of the solver (network errors, timeouts, solver unavailable) are
retried with exponential back-off, then raised as :class:`QPUError`; the trainer's per-epoch checkpoints let an
interrupted run resume. ``stats`` accumulates QPU calls, QPU access time, chain-break fraction and the
embedding size (physical qubits).
"""
from __future__ import annotations

import json
import os
import time

import dimod

from ..ising import ProblemError

__all__ = ["QPUError", "QPUSampler", "check_credentials", "qpu_sampler"]

PASSED_THROUGH = ("num_reads", "annealing_time", "chain_strength", "auto_scale", "answer_mode", "label")


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
    credentials check). ``chain_strength`` default: dwave-system's uniform torque compensation."""

    def __init__(self, child=None, chain_strength=None, retries: int = 3, backoff_seconds: float = 1.0,
                 embedding_file: str | None = None, seed: int = 0):
        system = _dwave_system()
        self.retries, self.backoff_seconds = int(retries), float(backoff_seconds)
        if child is None:
            check_credentials()
            child = self._retried(system.DWaveSampler, "could not open a D-Wave solver (token, endpoint, solver name)")
        self.child = child
        self.chain_strength = chain_strength
        self.embedding_file, self.seed = embedding_file, seed
        self.embeddings: dict = {}
        self.embedding_searches = 0
        self.stats = {"qpu_calls": 0, "qpu_access_time_us": 0.0, "chain_break_fraction_sum": 0.0,
                      "physical_qubits": 0}
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

    def embedding_for(self, bqm) -> dict:
        """The minor embedding of ``bqm``'s coupling graph on the QPU graph: found once per graph (minorminer,
        after a size check) and reused; uncoupled variables get a free qubit each."""
        key = self._graph_key(bqm)
        if key not in self.embeddings:
            import minorminer

            target_nodes, target_edges, _ = self.child.structure
            edges = list(bqm.quadratic)
            if len(bqm.variables) > len(target_nodes) or len(edges) > len(target_edges):  # necessary for a minor
                raise ProblemError(f"a problem of {len(bqm.variables)} variables and {len(edges)} couplings cannot "
                                   f"fit the QPU graph ({len(target_nodes)} qubits, {len(target_edges)} couplers); "
                                   f"use a smaller --active-layers / --max-variables")
            self.embedding_searches += 1
            embedding = minorminer.find_embedding(edges, target_edges, random_seed=self.seed) if edges else {}
            if edges and not embedding:
                raise ProblemError(f"a problem of {len(bqm.variables)} variables could not be embedded on the QPU "
                                   f"graph; use a smaller --active-layers / --max-variables")
            missing = [v for v in bqm.variables if v not in embedding]  # isolated variables: a free qubit each
            used = {q for chain in embedding.values() for q in chain}
            free = [q for q in self.child.nodelist if q not in used]
            if len(free) < len(missing):
                raise ProblemError(f"not enough free qubits for {len(missing)} uncoupled variables; use a smaller "
                                   f"--active-layers / --max-variables")
            embedding.update({v: [free.pop()] for v in missing})
            self.embeddings[key] = {v: list(chain) for v, chain in embedding.items()}
            if self.embedding_file:
                self.save_embeddings(self.embedding_file)
        return self.embeddings[key]

    def save_embeddings(self, path):
        """Write every embedding found to ``path`` (JSON)."""
        with open(path, "w") as f:
            json.dump([{"num_variables": k[0], "edges": [list(edge) for edge in k[1:]],
                        "embedding": {str(v): c for v, c in e.items()}} for k, e in self.embeddings.items()], f)

    def load_embeddings(self, path):
        """Read embeddings written by :meth:`save_embeddings`."""
        with open(path) as f:
            for item in json.load(f):
                key = (item["num_variables"],) + tuple(tuple(edge) for edge in item["edges"])
                self.embeddings[key] = {int(v) if v.isdigit() else v: c for v, c in item["embedding"].items()}

    # -- sampling ---------------------------------------------------------------------------------------
    def sample(self, bqm, **kwargs):
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
        self.stats["qpu_calls"] += 1
        self.stats["qpu_access_time_us"] += float(sampleset.info.get("timing", {}).get("qpu_access_time", 0.0))
        if "chain_break_fraction" in sampleset.record.dtype.names:
            self.stats["chain_break_fraction_sum"] += float(sampleset.record.chain_break_fraction.mean())
        self.stats["physical_qubits"] = sum(len(c) for c in embedding.values())
        return sampleset


MOCK_TOPOLOGY = ("pegasus", (16,))  # an Advantage-sized graph: Pegasus P16, 5640 qubits


def qpu_sampler(mock: bool = False, topology=MOCK_TOPOLOGY, **kwargs) -> QPUSampler:
    """A real QPU sampler (needs credentials) or, with ``mock=True``, one on an offline MockDWaveSampler of the
    ``topology`` (type, shape) -- default an Advantage-sized Pegasus P16 (dwave-system's own mock default is a
    small P3)."""
    if mock:
        from dwave.system.testing import MockDWaveSampler

        kind, shape = topology
        return QPUSampler(MockDWaveSampler(topology_type=kind, topology_shape=list(shape)), **kwargs)
    return QPUSampler(**kwargs)
