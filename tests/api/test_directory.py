"""The people picker: active users for every signed-in user, no contact details."""
from __future__ import annotations

from typing import Any


def test_directory_search_filters_and_shape(app: Any, login: Any) -> None:
    ops = login("south_ops")  # not an admin
    r = ops.get("/api/v1/directory?q=陈建")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["total"] == 1 and body["page"] == 1
    item = body["items"][0]
    assert item["username"] == "east_manager" and item["display_name"] == "陈建华"
    assert set(item) == {"id", "username", "display_name", "region", "department", "groups"}
    assert item["region"] == "EAST" and item["groups"] == ["regional_manager"]

    by_name = ops.get("/api/v1/directory?q=EAST_").get_json()  # case-insensitive; "_" is no wildcard
    assert by_name["total"] == 11 and all(i["username"].startswith("east_") for i in by_name["items"])
    assert ops.get("/api/v1/directory?q=%25").get_json()["total"] == 0  # "%" is no wildcard either
    planners = ops.get("/api/v1/directory?q=计划部").get_json()  # a department
    assert {i["username"] for i in planners["items"]} == {"east_planner", "south_planner", "north_planner",
                                                          "west_planner"}

    region = ops.get("/api/v1/directory?region=SOUTH&per_page=5").get_json()
    assert region["total"] == 11 and len(region["items"]) == 5
    page3 = ops.get("/api/v1/directory?region=SOUTH&per_page=5&page=3").get_json()
    assert page3["page"] == 3 and len(page3["items"]) == 1

    managers = ops.get("/api/v1/directory?group=regional_manager").get_json()
    assert {i["username"] for i in managers["items"]} == {"east_manager", "south_manager", "north_manager",
                                                          "west_manager"}
    assert ops.get("/api/v1/directory?group=区域经理&region=WEST").get_json()["items"][0]["username"] == "west_manager"
    assert ops.get("/api/v1/directory?per_page=500").status_code == 422


def test_directory_lists_active_users_only(app: Any, login: Any) -> None:
    admin = login("admin")
    assert admin.client.patch("/api/v1/users/east_planner", json={"is_active": False},
                              headers=admin._h()).status_code == 200
    names = {i["username"] for i in login("east_ops").get("/api/v1/directory?region=EAST&per_page=100")
             .get_json()["items"]}
    assert "east_planner" not in names and "east_ops" in names
