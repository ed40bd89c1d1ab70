"""One house style and pure plotly chart functions."""
