"""Block Kit checked on the way in, as Slack checks it, so nothing stored can break a page later.

``problems(blocks)`` lists what is wrong, each naming the block by its JSON pointer the way
Slack's ``invalid_blocks`` answer does; an empty list means the blocks are fine.

>>> problems([{"type": "section", "text": "plain"}])
['must be a text object [json-pointer:/blocks/0/text]']
>>> problems([{"type": "divider"}])
[]
"""

from __future__ import annotations

MAX_BLOCKS = 50
MAX_TEXT = 3000  # a section's text; Slack's limit for most text objects
MAX_ELEMENTS = 25  # an actions block's elements
MAX_FIELDS = 10  # a section's fields
MAX_URL = 3000
TEXT_TYPES = ("plain_text", "mrkdwn")
#: Block types a message may hold; rich_text and markdown are passed through unchecked inside.
BLOCK_TYPES = (
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "rich_text",
    "markdown",
)
BUTTON_STYLES = ("primary", "danger")


def problems(blocks) -> list[str]:
    """What Slack would reject in ``blocks`` (empty when they are valid)."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    if len(blocks) > MAX_BLOCKS:
        return [f"must be at most {MAX_BLOCKS} blocks [json-pointer:/blocks]"]
    found: list[str] = []
    for i, block in enumerate(blocks):
        found += [f"{msg} [json-pointer:/blocks/{i}{where}]" for where, msg in _block(block)]
    return found


def _block(block) -> list[tuple[str, str]]:
    if not isinstance(block, dict):
        return [("", "must be an object")]
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [("/type", f"unsupported block type {str(kind)[:40]!r}")]
    if kind == "section":
        found = _text(block.get("text"), "/text", optional="fields" in block)
        found += _list(block, "fields", MAX_FIELDS, _text, optional=True)
        if "accessory" in block:
            found += _element(block["accessory"], "/accessory")
        return found
    if kind == "header":
        return _text(block.get("text"), "/text", only="plain_text")
    if kind == "context":
        return _list(block, "elements", 10, _context_item)
    if kind == "actions":
        return _list(block, "elements", MAX_ELEMENTS, _element)
    if kind == "image":
        return _url(block.get("image_url"), "/image_url") + _string(block, "alt_text")
    if kind == "rich_text":
        return _list(block, "elements", 100, _object)
    if kind == "markdown":
        return _string(block, "text")
    return []


def _text(obj, where: str, optional: bool = False, only: str | None = None):
    if obj is None and optional:
        return []
    if not isinstance(obj, dict) or obj.get("type") not in ((only,) if only else TEXT_TYPES):
        kind = f"a {only} text object" if only else "a text object"
        return [(where, f"must be {kind}")]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [(where + "/text", "must be a non-empty string")]
    if len(text) > MAX_TEXT:
        return [(where + "/text", f"must be at most {MAX_TEXT} characters")]
    return []


def _context_item(item, where: str):
    if isinstance(item, dict) and item.get("type") == "image":
        return _url(item.get("image_url"), where + "/image_url") + _string(item, "alt_text", where)
    return _text(item, where)


def _element(element, where: str):
    """An interactive element; buttons are checked in full (the view renders them)."""
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [(where, "must be an element object")]
    if element["type"] != "button":
        return []
    found = _text(element.get("text"), where + "/text", only="plain_text")
    if "url" in element:
        found += _url(element["url"], where + "/url")
    if "action_id" in element and not isinstance(element["action_id"], str):
        found.append((where + "/action_id", "must be a string"))
    if "style" in element and element["style"] not in BUTTON_STYLES:
        found.append((where + "/style", "must be primary or danger"))
    return found


def _object(item, where: str):
    return [] if isinstance(item, dict) else [(where, "must be an object")]


def _list(block: dict, key: str, limit: int, check, optional: bool = False):
    items = block.get(key)
    if items is None and optional:
        return []
    if not isinstance(items, list) or not items or len(items) > limit:
        return [(f"/{key}", f"must be an array of 1 to {limit} items")]
    found = []
    for i, item in enumerate(items):
        found += check(item, f"/{key}/{i}")
    return found


def _string(obj: dict, key: str, where: str = ""):
    return [] if isinstance(obj.get(key), str) else [(f"{where}/{key}", "must be a string")]


def _url(url, where: str):
    ok = isinstance(url, str) and len(url) <= MAX_URL
    if not ok or not url.lower().startswith(("http://", "https://")):
        return [(where, "must be an http(s) URL")]
    return []
