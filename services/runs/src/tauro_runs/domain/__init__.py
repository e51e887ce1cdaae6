"""Pure domain code of the runs service: state folds and decisions, no I/O."""
