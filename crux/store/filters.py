"""The conditions of list calls: each filter the caller gave, and the apps the caller may see."""
from __future__ import annotations


def filter_clause(alias: str, filters: dict, columns: dict, apps: set[str] | None = None) -> tuple[str, dict]:
    """`AND ...` conditions on table `alias` and their parameters: `column = value` for each key
    of `columns` (filter key -> column) that `filters` gives (not None), and the caller's apps
    (None: all)."""
    parts, params = [], {}
    for key, column in columns.items():
        if filters.get(key) is not None:
            parts.append(f"{alias}.{column} = %({key})s")
            params[key] = filters[key]
    if apps is not None:
        parts.append(f"{alias}.app = ANY(%(allowed_apps)s)")
        params["allowed_apps"] = sorted(apps)
    return "".join(" AND " + p for p in parts), params
