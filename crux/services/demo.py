"""The demo realm's content: the apps and example rules of examples/ (used by `crux demo`).

examples/retail (business rules) and examples/onboarding (workflows and a sub-workflow) are
loaded into slice 1 exactly as `crux load --activate` loads a folder, so running the demo
again changes nothing.
"""
from __future__ import annotations

from crux.config import REPO_ROOT
from crux.store import apps as app_store
from crux.store.db import Database

DEMO_APPS = {"retail": "Retail orders (business rules example)",
             "onboarding": "Customer onboarding (workflow example)"}
EXAMPLES = REPO_ROOT / "examples"


def load_demo(settings, url: str, realm: str, admin: str) -> str:
    # The loader shares the web API's payload checks, so it lives beside the API, not here.
    from crux.rules_load import load_folder, loader_identity

    database = Database(settings, url)
    database.pool.open(wait=True)
    problems: list[str] = []
    loaded = 0
    try:
        with database.transaction(admin, realm) as tx:
            for name, descr in DEMO_APPS.items():
                if app_store.get_app(tx.conn, realm, name) is None:
                    app_store.insert_app(tx, realm, name, descr, admin)
                    tx.record_change("app", (realm, name), "insert", None, {"name": name, "descr": descr})
        for name in DEMO_APPS:
            folder = EXAMPLES / name
            if not folder.is_dir():
                problems.append(f"{folder}: not found")
                continue
            report = load_folder(database, loader_identity(realm, admin), folder, 1, name, activate=True)
            problems.extend(report.problems)
            loaded += report.counts.get("created", 0) + report.counts.get("updated", 0)
    finally:
        database.close()
    text = f"Apps: {', '.join(DEMO_APPS)}; example rules and workflows in slice 1 ({loaded} loaded now)."
    if problems:
        text += "\nProblems loading the examples:\n  " + "\n  ".join(problems)
    return text
