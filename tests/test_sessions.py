"""Server-side sessions keep their own copy of the stored data."""

from __future__ import annotations

from idp.sessions import ServerSession
from idp.store import BrowserSession


def test_a_session_does_not_share_nested_values_with_its_stored_row(app):
    record = BrowserSession(id="x" * 64, sid="y" * 43, data={"_flashes": [["info", "eins"]]})
    session = ServerSession(record)

    flashes = session.get("_flashes", [])
    flashes.append(["info", "zwei"])  # what flask.flash() does
    session["_flashes"] = flashes

    assert session.modified
    # the row still holds the old value, so saving the new one is a change
    assert record.data == {"_flashes": [["info", "eins"]]}
