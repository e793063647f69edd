"""Reports: per-language tables, plots, render checks."""
