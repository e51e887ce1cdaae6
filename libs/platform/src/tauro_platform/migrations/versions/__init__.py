"""The migrations, one module each, named ``NNNN_name.py``."""
