"""The example rules and workflows (README.md here), which `crux demo` loads.

This folder stays at the top of the repository and installs as the package `crux.examples`
(pyproject.toml), so an installed `crux demo` finds them wherever it runs."""
