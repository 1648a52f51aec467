"""The bottom layer: helpers that depend on nothing else of aekit but :mod:`aekit.errors`.

Array layouts (:mod:`~aekit.core.arrays`), picture arrays (:mod:`~aekit.core.pictures`), the model file's
container format and atomic writes (:mod:`~aekit.core.container`), varints (:mod:`~aekit.core.varint`) and
metrics shared by the layers above (:mod:`~aekit.core.metrics`). Import the module you need.
"""
