"""Views composed by the main window: model, data, method, run/plots, compare, spot-check, log."""
