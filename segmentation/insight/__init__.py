"""What the segments mean: statistics, profiles, names, recommendations, analysis views."""
