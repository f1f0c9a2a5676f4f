"""Uploads kept between preview and confirm: the preview is the importer's dry run, the confirm
imports exactly the bytes previewed, once, for the person who uploaded them, before expiry."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select

from storage import ConflictError
from storage.models import assignments, events
from tests.builders import SUPPORT, World
from workflow import uploads
from workflow.errors import InvalidInput, PermissionDenied
from workflow.importing import import_file

RC = "rc@region07.ru"
PEOPLE = ("email,name,role,scope\n"
          "adm@s1.ru,Администратор Первый,school_admin,S1\n").encode()


@pytest.fixture
def region(world: World) -> World:
    world.standard().through_step3()
    return world


def admins(world: World) -> list[str]:
    with world.services.db.read() as conn:
        return sorted(conn.execute(select(assignments.c.email).where(
            assignments.c.role == "school_admin")).scalars())


def test_preview_writes_nothing_and_confirm_imports_once(region: World) -> None:
    """The preview counts what would change and writes nothing; the confirm imports it,
    records the person and channel "web"; a second confirm of the same upload is refused."""
    seen = uploads.preview(region.services, RC, "people", "люди.csv", PEOPLE,
                           remove_missing=False, now=region.now)
    assert (seen.file, seen.result.created, seen.result.dry_run) == ("люди.csv", 1, True)
    assert admins(region) == []
    result = uploads.confirm(region.services, RC, seen.upload_id, region.tick(minutes=5))
    assert (result.created, result.dry_run) == (1, False)
    assert admins(region) == ["adm@s1.ru"]
    with region.services.db.read() as conn:
        row = conn.execute(select(events.c.actor, events.c.data).where(
            events.c.event == "Imported").order_by(events.c.seq.desc())).first()
    assert row is not None and (row.actor, row.data["channel"]) == (RC, "web")
    with pytest.raises(InvalidInput, match="imported already or has expired"):
        uploads.confirm(region.services, RC, seen.upload_id, region.now)


def test_a_bad_row_is_named_and_nothing_is_kept(region: World) -> None:
    """A bad e-mail: the preview fails with FILE:ROW: column: problem, nothing kept."""
    bad = PEOPLE + "not-an-address,Кто-то,school_admin,S2\n".encode()
    with pytest.raises(InvalidInput) as err:
        uploads.preview(region.services, RC, "people", "люди.csv", bad, remove_missing=False,
                        now=region.now)
    assert err.value.problems[0].startswith("люди.csv:3: email: ")
    with region.services.db.read() as conn:
        from storage.uploads import uploads as table
        assert conn.execute(select(table.c.id)).first() is None


def test_only_the_uploader_confirms_and_only_before_expiry(region: World) -> None:
    """Support cannot confirm the coordinator's upload; after an hour it is gone."""
    seen = uploads.preview(region.services, RC, "people", "p.csv", PEOPLE,
                           remove_missing=False, now=region.now)
    with pytest.raises(InvalidInput):
        uploads.confirm(region.services, SUPPORT, seen.upload_id, region.now)
    with pytest.raises(InvalidInput):
        uploads.confirm(region.services, RC, seen.upload_id,
                        region.tick(hours=1, seconds=1))
    assert admins(region) == []


def test_a_kind_outside_the_persons_role_is_refused(region: World) -> None:
    """A coordinator may not upload schools; support may not upload people."""
    with pytest.raises(PermissionDenied):
        uploads.preview(region.services, RC, "schools", "s.csv", b"x", remove_missing=False,
                        now=region.now)
    with pytest.raises(PermissionDenied):
        uploads.preview(region.services, SUPPORT, "people", "p.csv", PEOPLE,
                        remove_missing=False, now=region.now)


def test_a_confirm_that_loses_the_race_writes_nothing(region: World) -> None:
    """Two confirms read the upload; the one whose claim (inside its import's transaction)
    finds it taken already is a conflict, and its import writes nothing."""
    from storage import uploads as staged

    seen = uploads.preview(region.services, RC, "people", "p.csv", PEOPLE,
                           remove_missing=False, now=region.now)
    with region.services.db.write() as conn:  # the other confirm got there first
        assert staged.claim(conn, seen.upload_id, RC, region.now)

    def take(conn: Connection) -> None:
        if not staged.claim(conn, seen.upload_id, RC, region.now):
            raise ConflictError("upload", "p.csv")

    with pytest.raises(ConflictError):
        import_file(region.services, "people", region.write_csv(
            [{"email": "adm@s1.ru", "name": "А", "role": "school_admin", "scope": "S1"}]),
            now=region.now, actor=RC, channel="web", claim=take)
    assert admins(region) == []


def test_a_file_that_is_not_csv_or_xlsx_is_refused(region: World) -> None:
    """The name must end in .csv or .xlsx (the reader picks its parser by it)."""
    with pytest.raises(InvalidInput, match="upload a CSV or XLSX file"):
        uploads.preview(region.services, RC, "people", "people.exe", PEOPLE,
                        remove_missing=False, now=region.now)
