"""Applications built on the core: each job is a library function with a CLI command.

``aekit.apps.denoise``, ``aekit.apps.anomaly``, ``aekit.apps.features``, ... (import the module you need).
"""
