from tests.conftest import error_of


def test_app_roundtrip(realm):
    realm.app_new("Retail", "Retail orders")
    apps = realm.ok("applist")["apps"]
    assert [a["name"] for a in apps] == ["retail"]
    assert realm.ok("realmslicenew", {"descr": "two"}) == 2
    resp = realm.call("appnew", {"name": "retail", "descr": "again"})
    assert resp.status_code == 400 and error_of(resp)["errcode"] == "already_exist"
