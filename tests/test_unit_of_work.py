"""The unit of work (crux/services/uow.py): what a write touches besides its rows happens if and
only if the write commits."""
from __future__ import annotations

import pytest

from crux.errors import CruxError
from crux.services.uow import unit_of_work
from crux.store import apps as app_store


def _changes(conn, realm: str) -> list[tuple]:
    return [(r["entity"], r["key"], r["op"]) for r in conn.execute(
        "SELECT entity, key, op FROM changelog WHERE realm = %s AND entity = 'app' ORDER BY id", (realm,))]


def test_a_committed_write_logs_and_notices(realm, db, conn, monkeypatch):
    delivered = []
    monkeypatch.setattr(db, "deliver_notice", delivered.append)
    with unit_of_work(db, realm.name, "ann") as uow:
        row = app_store.insert_app(uow.conn, realm.name, "shop", "Shop", "ann")
        uow.changed("app", (realm.name, "shop"), "insert", None, row)
        uow.notify("rules", realm=realm.name, slice=1, app="shop")
        assert delivered == []                 # not before the commit
    assert _changes(conn, realm.name) == [("app", f"{realm.name}/shop", "insert")]
    assert len(delivered) == 1 and '"kind": "rules"' in delivered[0]


def test_a_failed_write_leaves_nothing(realm, db, conn, monkeypatch):
    delivered = []
    monkeypatch.setattr(db, "deliver_notice", delivered.append)
    with pytest.raises(CruxError):
        with unit_of_work(db, realm.name, "ann") as uow:
            row = app_store.insert_app(uow.conn, realm.name, "shop", "Shop", "ann")
            uow.changed("app", (realm.name, "shop"), "insert", None, row)
            uow.notify("rules", realm=realm.name, slice=1, app="shop")
            raise CruxError("not_allowed", "name", ["shop"], "refused after the writes")
    assert _changes(conn, realm.name) == []
    assert conn.execute("SELECT count(*) AS n FROM app WHERE realm = %s", (realm.name,)).fetchone()["n"] == 0
    assert delivered == []


@pytest.mark.parametrize("mode", ["transaction", "pipeline"])
def test_a_unique_violation_is_already_exist(realm, db, mode):
    """A writer that loses a race for a key (its own check saw nothing) gets `already_exist` at
    the field the constraint stands for, whatever way its statements run."""
    realm.app_new("shop")
    with pytest.raises(CruxError) as caught:
        with unit_of_work(db, realm.name, "ann", mode) as uow:
            app_store.insert_app(uow.conn, realm.name, "Shop", "again", "ann")
    assert caught.value.status == 400
    assert caught.value.messages[0] | {"msg": None} == {"msgid": 1008, "errcode": "already_exist", "field": "name",
                                                       "vals": ["shop"], "msg": None}
