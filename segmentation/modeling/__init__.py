"""From prepared columns to segments: features, algorithms, choice of k, the estimator, labeling."""
