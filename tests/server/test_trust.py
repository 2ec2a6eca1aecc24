# SPDX-License-Identifier: GPL-3.0-or-later
"""The spam gate's quota, listeners' reports and the moderators' queue, through the API and
the operator's command line, on a copy of the seeded demo platform."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.recipe import Recipe
from app.server import cli as platform_cli
from tests.helpers.platform import Fan, Studio, drums_down, open_client


def _lead_forward(studio: Studio, lead_db: float = 6.0) -> Recipe:
    recipe = studio.recipe
    for kind in recipe.stems:
        if kind != "lead":
            recipe = recipe.with_stem(kind, gain_db=-6.0)
    return recipe.with_stem("lead", gain_db=lead_db)


def test_the_daily_quota_counts_what_verification_spent_cpu_on(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir, uploads_per_day_free=1) as client:
        fan2 = Fan.sign_in(client, "fan2")  # the free tier: one verification a day here
        original = studio.recipe.with_stem("drums", gain_db=-0.1)
        refused = fan2.publish(original, studio.flac(original))
        assert refused.status_code == 422 and "too close to the original mix" in refused.text
        first = fan2.publish(drums_down(studio), studio.flac(drums_down(studio)))
        assert first.status_code == 201, first.text  # the gate's refusal did not count
        other = _lead_forward(studio)
        over = fan2.publish(other, studio.flac(other))
        assert over.status_code == 429, over.text
        detail = over.json()["detail"]
        assert "1 remixes for verification today, the free tier's quota" in detail
        assert "it resets at 00:00 UTC, in " in detail
        # Another account's quota is its own.
        fan = Fan.sign_in(client, "fan")
        assert fan.publish(other, studio.flac(other)).status_code == 201
        admin = Fan.sign_in(client, "admin")
        counts = admin.get("/admin/metrics").json()["uploads"]
        assert counts == {"original": 1, "published": 2, "quota": 1}
        assert fan.get("/admin/metrics").status_code == 403


def test_a_listener_reports_a_remix_and_a_moderator_hides_then_restores_it(
    platform_dir: Path, studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        admin = Fan.sign_in(client, "admin")
        made = fan.publish(drums_down(studio), studio.flac(drums_down(studio)))
        drv = made.json()["id"]
        path = f"/api/v1/derivatives/{drv}/report"

        def report(who: Fan, reason: str) -> int:
            return client.post(path, headers=who.headers, json={"reason": reason}).status_code

        assert report(fan2, "It is the original with a fader moved.") == 201
        assert report(fan2, "again") == 409
        assert report(fan, "my own") == 422
        assert report(admin, "   ") == 422
        assert fan2.get("/moderation").status_code == 403
        queued = admin.get("/moderation").json()
        assert [(q["derivative_id"], q["reports"]) for q in queued] == [(drv, 1)]
        assert queued[0]["reasons"] == ["It is the original with a fader moved."]

        # The operator's command line sees the same queue, and hides it with a reason.
        data = ["--data", str(platform_dir)]
        assert platform_cli.main(["moderation", "list", "--json", *data]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [r["derivative_id"] for r in listed] == [drv]
        hide = ["moderation", "hide", drv, "--reason", "A copy of the original.", "--as"]
        assert platform_cli.main([*hide, "fan", *data]) == 1  # not an admin
        assert "is not an admin account" in capsys.readouterr().err
        assert platform_cli.main([*hide, "admin", *data]) == 0
        assert f"{drv} is hidden now." in capsys.readouterr().out

        assert fan2.get(f"/derivatives/{drv}").status_code == 404
        assert drv not in [i["id"] for i in fan2.get("/feed").json()["items"]]
        mine = fan.get(f"/derivatives/{drv}").json()
        assert (mine["status"], mine["reason"]) == ("hidden", "A copy of the original.")
        assert admin.get("/moderation").json() == []  # its report is resolved
        restored = client.post(
            f"/api/v1/moderation/{drv}", headers=admin.headers, json={"action": "restore"}
        )
        assert restored.json()["status"] == "published"
        assert drv in [i["id"] for i in fan2.get("/feed").json()["items"]]
        refused = client.post(
            f"/api/v1/moderation/{drv}", headers=fan.headers, json={"action": "hide"}
        )
        assert refused.status_code == 403
        assert platform_cli.main(["metrics", *data]) == 0
        assert "published" in capsys.readouterr().out
