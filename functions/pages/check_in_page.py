"""GET /console/check-in: the door's check-in page of the staff console (scan a ticket's QR with
the phone's camera where the browser can, or type its code). GET /console/assets/{path}: its
JavaScript, and the CSS and modules it shares with the order page. The page holds no data: it
calls POST /admin/tickets/{code}/check-in with the staff member's token."""

from pathlib import Path

from caisse.pages import serve

STATIC = Path(__file__).resolve().parent / "static"


def handler(event, context):
    return serve(STATIC, "door", event)
