"""stagetui: provision, measure and compare test environments.

Kept free of imports so that `python -m stagetui.sample.service` (run inside environments) starts fast.
"""

__version__ = "0.1.0"
