"""S3's XML: building response documents and reading the few request bodies that are XML.

Responses are built from nested ``(name, value)`` pairs, where a value is text, a number, a
boolean, ``None`` (element left out) or a list of pairs (child elements); repeated elements
are repeated pairs. Request bodies are parsed with the standard library's expat after a size
check, with any document type declaration refused (so no entity is ever defined, expanded or
fetched), and namespaces are ignored as botocore sends
``xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`` but other clients may not. Anything that is
not a well-formed document is S3's ``MalformedXML`` (400).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn, TypeAlias
from xml.parsers import expat
from xml.sax.saxutils import escape

from openmaker.api.s3.errors import EntityTooLarge, MalformedXML

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 4 * 1024 * 1024

Value: TypeAlias = "str | int | float | bool | Sequence[tuple[str, Value]] | None"


def document(root: str, children: Sequence[tuple[str, Value]], *, namespace: bool = True) -> bytes:
    """An XML document ``<root xmlns=...>children</root>``."""
    xmlns = f' xmlns="{NAMESPACE}"' if namespace else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<{root}{xmlns}>"]
    _render(children, out)
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")


def _render(children: Sequence[tuple[str, Value]], out: list[str]) -> None:
    for name, value in children:
        if value is None:
            continue
        if isinstance(value, bool):
            out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
        elif isinstance(value, (str, int, float)):
            out.append(f"<{name}>{escape(_xml_text(str(value)))}</{name}>")
        else:
            out.append(f"<{name}>")
            _render(value, out)
            out.append(f"</{name}>")


def _xml_text(text: str) -> str:
    # XML 1.0 cannot carry most control characters; S3 clients ask for encoding-type=url
    # when keys may hold them, so this only guards against a malformed document.
    return "".join(
        ch if ch in "\t\n\r" or (ord(ch) >= 0x20 and not 0xD800 <= ord(ch) <= 0xDFFF) else "\ufffd"
        for ch in text
    )


def timestamp(epoch: float) -> str:
    """S3's XML timestamp: ``2024-01-31T12:00:00.000Z``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(body: bytes, *, root: str) -> ET.Element:
    """Parse an XML request body whose root element must be ``root``.

    Raises:
        EntityTooLarge: the body is over 4 MiB.
        MalformedXML: it is not well formed, or its root is another element.
    """
    if len(body) > MAX_XML_BODY:
        raise EntityTooLarge(f"The XML body is over {MAX_XML_BODY} bytes.")
    element = _parse_tree(body)
    if local_name(element.tag) != root:
        raise MalformedXML(
            f"The XML you provided was not well-formed or did not validate against our "
            f"published schema: the root element must be <{root}>, not "
            f"<{local_name(element.tag)}>."
        )
    return element


class _Refused(Exception):
    """Raised from a parser callback: the document declares a DOCTYPE or an entity."""


def _refuse(*_: object) -> NoReturn:
    raise _Refused()


def _parse_tree(body: bytes) -> ET.Element:
    """The element tree of ``body``, built by expat with the document type refused.

    The refusal is a parser callback rather than a search of the bytes, so it holds in every
    encoding expat reads (a UTF-16 ``<!DOCTYPE`` has no ASCII ``<!DOCTYPE`` in it): no DTD,
    so no entity to expand (billion laughs) and none to fetch. The tree is built without
    recursion, so nesting depth costs memory only, bounded by the size limit.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.buffer_text = True
    parser.StartElementHandler = lambda tag, attrs: builder.start(_clark(tag), attrs)
    parser.EndElementHandler = lambda tag: builder.end(_clark(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
        return builder.close()
    except _Refused:
        raise MalformedXML("The XML you provided must not declare a DOCTYPE or entities.") from None
    except (expat.ExpatError, AssertionError, ValueError, LookupError) as exc:
        # AssertionError: TreeBuilder.close() without a root element; LookupError: an
        # encoding declaration naming no codec
        raise MalformedXML(
            f"The XML you provided was not well-formed or did not validate against our "
            f"published schema: {exc or 'no root element'}"
        ) from None


def _clark(tag: str) -> str:
    """expat's ``namespace}name`` as ElementTree's ``{namespace}name``."""
    return "{" + tag if "}" in tag else tag


def local_name(tag: str) -> str:
    """A tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    """The child elements called ``name`` (any namespace)."""
    return [child for child in element if local_name(child.tag) == name]


def child_text(element: ET.Element, name: str) -> str | None:
    """The text of the first child called ``name``, or ``None``."""
    found = children(element, name)
    return (found[0].text or "") if found else None
