"""GET /order/{order_id}: the hosted order page every email links to, and where providers send the
customer back. One HTML shell for every order; its script reads the order through the JSON API with
the order token from the link's fragment (#token=...), which never reaches a server or a log.
GET /order/assets/{path}: the page's own CSS and JavaScript, and the modules it shares with the
console."""

from pathlib import Path

from caisse.pages import answer, page_file

STATIC = Path(__file__).resolve().parent / "static"


def handler(event, context):
    asset = (event.get("pathParameters") or {}).get("asset")
    if asset is None:
        return answer(page_file(STATIC, "order/index.html", allowed=("order",)))
    relative = asset if asset.startswith("shared/") else f"order/{asset}"
    return answer(page_file(STATIC, relative, allowed=("order", "shared")))
