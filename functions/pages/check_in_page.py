"""GET /console/check-in: the door's check-in page of the staff console (scan a ticket's QR with
the phone's camera where the browser can, or type its code). GET /console/assets/{path}: its
JavaScript, and the CSS and modules it shares with the order page. The page holds no data: it
calls POST /admin/tickets/{code}/check-in with the staff member's token."""

from pathlib import Path

from caisse.pages import answer, page_file

STATIC = Path(__file__).resolve().parent / "static"


def handler(event, context):
    asset = (event.get("pathParameters") or {}).get("asset")
    if asset is None:
        return answer(page_file(STATIC, "door/index.html", allowed=("door",)))
    relative = asset if asset.startswith("shared/") else f"door/{asset}"
    return answer(page_file(STATIC, relative, allowed=("door", "shared")))
