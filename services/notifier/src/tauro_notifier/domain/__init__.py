"""The notifier's pure rules: which settings apply, what a message says, how it is signed,
and the life of one delivery (claim, outcome, retry, give up)."""
