"""imbloss: losses for imbalanced classification."""
