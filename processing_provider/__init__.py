"""QGIS Processing glue for GLaSAR: the provider and one module per algorithm."""
