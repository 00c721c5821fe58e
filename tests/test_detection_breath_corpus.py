"""The breathing corpus of ``benchmarks/detection_breath.py`` is balanced: every
breathing kind meets every ramp size and the calm sessions alike, so no ramp
size's figures rest on the easier (or harder) half of the kinds."""

from __future__ import annotations

from benchmarks.detection_breath_corpus import KINDS, build_breath_corpus, kind_table


def test_every_kind_meets_every_ramp_size_and_calm_alike() -> None:
    # Eight hearts (six cases each: four ramps, two calm) bring each of the
    # eight kinds to each place once.
    table = kind_table(build_breath_corpus(3, 8))
    for kind in KINDS:
        assert table[kind] == {None: 2, 8.0: 1, 10.0: 1, 15.0: 1, 25.0: 1}, kind
