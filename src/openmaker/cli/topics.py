"""``openmaker topics MODEL --vocabulary vocab.txt [--top 10] [--output json|text|table]``.

Prints each topic's best words for a topic model (LDA, NTM: any model whose class has
``topic_word_matrix()``, see :mod:`openmaker.algorithms.common.topics`). ``json`` is
``{"Topics": [{"Topic": 0, "Words": [...], "Weights": [...]}, ...]}``; ``text`` is one topic a
line, ``TOPIC<TAB>WORD<TAB>WORD...`` (best first, no header); ``table`` a table.
"""

from __future__ import annotations

from typing import Any

import click

from openmaker.cli.render import WORDS, Column, Grid, output_option, resolve_output, to_json


@click.command()
@click.argument("model_uri")
@click.option(
    "--vocabulary",
    "vocabulary",
    required=True,
    help="The vocabulary file: one word a line, line j+1 is feature index j (UTF-8).",
)
@click.option(
    "--top", default=10, show_default=True, type=click.IntRange(min=1), help="Words per topic."
)
@click.option("--algorithm", default=None, help="Algorithm name (detected when omitted).")
@output_option("list")
def topics(
    model_uri: str, vocabulary: str, top: int, algorithm: str | None, output: str | None
) -> None:
    """Show each topic's top words for MODEL_URI (model.tar.gz or a model folder; local,
    file:// or s3://) of a topic model (lda, ntm)."""
    from openmaker.algorithms.common.topics import describe_topics

    found = describe_topics(model_uri, vocabulary, top, algorithm)
    fmt = resolve_output(output, "list")
    if fmt == "json":
        response: dict[str, Any] = {
            "Topics": [
                {"Topic": t.index, "Words": list(t.words), "Weights": list(t.weights)}
                for t in found
            ]
        }
        click.echo(to_json(response))
    elif fmt == "text":
        from openmaker.cli.render import field

        for t in found:
            click.echo("\t".join([str(t.index), *(field(w) for w in t.words)]))
    else:
        from openmaker.cli.render import print_grid

        rows = [{"topic": t.index, "words": " ".join(t.words)} for t in found]
        print_grid(Grid([Column("Topic", "topic"), Column("Top words", "words", WORDS)], rows))
