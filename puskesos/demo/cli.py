import click


@click.group(help="Demo data.")
def demo() -> None:
    pass
