"""Privacy: the vault (numbers and words encrypted at rest), key rotation, retention
purges and the quick exit (erasure)."""
