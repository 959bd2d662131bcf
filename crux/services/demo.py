"""The demo realm's content: the apps and example rules of examples/ (used by `crux demo`)."""
from __future__ import annotations

from crux.store import apps as app_store
from crux.store.db import Database

DEMO_APPS = {"retail": "Retail orders (business rules example)",
             "onboarding": "Customer onboarding (workflow example)"}


def load_demo(settings, url: str, realm: str, admin: str) -> str:
    database = Database(settings, url)
    database.pool.open(wait=True)
    created = []
    try:
        with database.transaction(admin, realm) as tx:
            for name, descr in DEMO_APPS.items():
                if app_store.get_app(tx.conn, realm, name) is None:
                    app_store.insert_app(tx, realm, name, descr, admin)
                    tx.record_change("app", (realm, name), "insert", None, {"name": name, "descr": descr})
                    created.append(name)
    finally:
        database.close()
    return f"Apps: {', '.join(DEMO_APPS)}."
