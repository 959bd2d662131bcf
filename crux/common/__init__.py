"""Leaves every layer may import: settings (config.py), log lines (log.py), metrics (metrics.py),
JSON text (jsontext.py). They import nothing of Crux but each other and crux/errors.py."""
