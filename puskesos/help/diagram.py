"""The workflow diagrams, drawn from the tables themselves: nothing here names a state, an event or a deadline.

`case_graph()` reads the case table (`cases.workflow.TABLE`), the deadlines beside it, and the rule that places a
case after a referral event (`state_from_referrals`, tried on every small set of referral statuses, so the
dashed edges are exactly the moves the referral table can cause). `referral_graph()` reads the referral table.
`render_svg` lays a graph out in columns (each state one step further from the start than the one before) and
draws it as SVG on the server; every edge carries `data-events`, `data-from` and `data-to`, so a test can read
the drawing back and hold it against the tables.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from puskesos.accounts.roles import ROLE_LABELS
from puskesos.cases import workflow as cases
from puskesos.referrals import workflow as referrals
from puskesos.referrals.models import REFERRAL_STATUS_LABELS, ReferralStatus


@dataclass
class Node:
    key: str
    label: object
    note: object = ""


@dataclass
class Edge:
    src: str
    dst: str
    events: list[str] = field(default_factory=list)
    roles: dict[str, set] = field(default_factory=dict)  # event -> roles
    dashed: bool = False  # the case follows its referrals

    def add(self, event: str, roles) -> None:
        if event not in self.events:
            self.events.append(event)
        self.roles.setdefault(event, set()).update(str(r) for r in roles)


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    start: str
    hub: str | None = None  # drawn as a bar along the bottom (the closed state)

    def label(self, key: str):
        return next(node.label for node in self.nodes if node.key == key)


def _days(days) -> object:
    if days == cases.FOLLOWS_REFERRALS:
        return _l("ikut tenggat rujukan")
    if days:
        return _l("%(n)s hari kerja", n=days)
    return ""


def _edge(edges: dict, src: str, dst: str, dashed: bool = False) -> Edge:
    key = (src, dst, dashed)
    if key not in edges:
        edges[key] = Edge(src, dst, dashed=dashed)
    return edges[key]


def referral_status_sets(size: int = 2) -> list[tuple[str, ...]]:
    """Every set of up to `size` referral statuses a case can hold (order does not matter)."""
    statuses = [s.value for s in ReferralStatus]
    return [combo for n in range(size + 1) for combo in itertools.combinations_with_replacement(statuses, n)]


def _place(statuses) -> str:
    return cases.state_from_referrals([_Stub(s) for s in statuses]).value


@dataclass
class _Stub:
    status: str


def case_graph() -> Graph:
    nodes = [Node(s.value, cases.STATE_LABELS[s], _days(cases.deadline_days(s))) for s in cases.State]
    edges: dict = {}
    sets = referral_status_sets()
    for step in cases.TABLE:
        for source in step.sources:
            if step.dest is not None:
                _edge(edges, source.value, step.dest.value).add(step.event, step.roles)
                continue
            # DERIVED: a new referral joins whatever the case holds in that state.
            for held in sets:
                if _place(held) == source.value and (held or source == cases.State.ASSESSED):
                    _edge(edges, source.value, _place((*held, referrals.initial_status().value))).add(
                        step.event, step.roles)
    for held in sets:
        before = _place(held)
        if not held:
            continue
        for index, status in enumerate(held):
            for step in referrals.TABLE:
                if status in step.sources:
                    after = _place((*held[:index], step.dest.value, *held[index + 1:]))
                    if after != before:
                        _edge(edges, before, after, dashed=True).add(step.event, {step.role})
    return Graph(nodes, list(edges.values()), start=cases.State.REGISTERED.value, hub=cases.State.CLOSED.value)


def referral_graph() -> Graph:
    nodes = [Node(s.value, REFERRAL_STATUS_LABELS[s], _days(referrals.deadline_days(s))) for s in ReferralStatus]
    edges: dict = {}
    for step in referrals.TABLE:
        for source in step.sources:
            _edge(edges, source.value, step.dest.value).add(step.event, {step.role})
    return Graph(nodes, list(edges.values()), start=referrals.initial_status().value)


# -- layout and drawing ---------------------------------------------------------------------------------------

W, H, COL, ROW, LEFT, TOP = 190, 54, 250, 125, 20, 80


def _layout(graph: Graph) -> dict[str, tuple[int, int]]:
    """Columns by distance from the start (ignoring the hub), busiest state on top within a column."""
    rank = {graph.start: 0}
    queue = deque([graph.start])
    while queue:
        node = queue.popleft()
        for edge in graph.edges:
            if edge.src == node and edge.dst not in rank and edge.dst != graph.hub:
                rank[edge.dst] = rank[node] + 1
                queue.append(edge.dst)
    degree = {n.key: sum(e.src == n.key or e.dst == n.key for e in graph.edges) for n in graph.nodes}
    columns: dict[int, list[str]] = {}
    for node in graph.nodes:
        if node.key != graph.hub:
            columns.setdefault(rank.get(node.key, max(rank.values()) + 1), []).append(node.key)
    places = {}
    for col, keys in columns.items():
        for row, key in enumerate(sorted(keys, key=lambda k: -degree[k])):
            places[key] = (LEFT + col * COL, TOP + row * ROW)
    return places


def legend(edge: Edge) -> list[str]:
    """Each event of an edge with the roles that may fire it: the diagram's numbered legend."""
    lines = []
    for event in edge.events:
        roles = ", ".join(str(ROLE_LABELS.get(r, r)) for r in sorted(edge.roles[event]))
        lines.append(f"{cases.EVENT_LABELS[event]} ({roles})")
    return lines


def _text(x: float, y: float, line: str, css: str) -> str:
    return f'<text class="{css}" x="{x:.0f}" y="{y:.0f}" text-anchor="middle">{escape(line)}</text>'


def _bezier_middle(p0, p1, p2, p3) -> tuple[float, float]:
    return tuple((a + 3 * b + 3 * c + d) / 8 for a, b, c, d in zip(p0, p1, p2, p3, strict=True))


def _route(graph: Graph, places: dict, edge: Edge, n: int, hub_y: int) -> tuple[str, tuple[float, float]]:
    """The path of one edge and where its number goes."""
    if edge.dst == graph.hub or edge.src == graph.hub:
        into = edge.dst == graph.hub
        x, y = places[edge.src if into else edge.dst]
        cx = x + W / 2 + (-16 if into else 16)
        y1, y2 = (y + H, hub_y) if into else (hub_y, y + H)
        return f"M{cx:.0f},{y1} L{cx:.0f},{y2}", (cx, y1 + (y2 - y1) * (0.3 if into else 0.7))
    if edge.src == edge.dst:
        x, y = places[edge.src]
        cx = x + W / 2 + 40
        return (f"M{cx - 18:.0f},{y} C{cx - 38:.0f},{y - 48} {cx + 38:.0f},{y - 48} {cx + 18:.0f},{y}",
                (cx, y - 36))
    (x1, y1), (x2, y2) = places[edge.src], places[edge.dst]
    if x1 == x2:  # one column: straight down or up, beside the middle
        down = y2 > y1
        cx = x1 + W / 2 + (-30 if down else 30)
        sy, ey = (y1 + H, y2) if down else (y1, y2 + H)
        return f"M{cx:.0f},{sy} L{cx:.0f},{ey}", (cx, (sy + ey) / 2)
    if x2 > x1:  # forward: right side to left side
        p0, p3 = (x1 + W, y1 + H / 2 + 8 * ((n % 3) - 1)), (x2, y2 + H / 2 + 8 * ((n % 3) - 1))
        bend = (p3[0] - p0[0]) / 2
        p1, p2 = (p0[0] + bend, p0[1]), (p3[0] - bend, p3[1])
    else:  # backward: over the top
        p0, p3 = (x1 + W / 2 - 20, y1), (x2 + W / 2 + 20, y2)
        lift = min(y1, y2) - 40 - 10 * (n % 3)
        p1, p2 = (p0[0], lift), (p3[0], lift)
    path = f"M{p0[0]:.0f},{p0[1]:.0f} C{p1[0]:.0f},{p1[1]:.0f} {p2[0]:.0f},{p2[1]:.0f} {p3[0]:.0f},{p3[1]:.0f}"
    return path, _bezier_middle(p0, p1, p2, p3)


def render_svg(graph: Graph, title) -> Markup:
    """The graph as SVG. Edges are numbered in `graph.edges` order; `legend` says what each number means."""
    places = _layout(graph)
    width = max(x for x, _ in places.values()) + W + LEFT + 30
    rows_bottom = max(y for _, y in places.values()) + H
    hub_y = rows_bottom + 90
    height = (hub_y + H + 20) if graph.hub else rows_bottom + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" viewBox="0 0 {width} {height}" '
           f'style="max-width: {width}px" role="img" aria-label="{escape(title)}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>']
    numbers = []
    for n, edge in enumerate(graph.edges, start=1):
        path, (mx, my) = _route(graph, places, edge, n, hub_y)
        dash = 'stroke-dasharray="5 4" ' if edge.dashed else ""
        out.append(f'<g class="edge{" derived" if edge.dashed else ""}" data-events="{" ".join(edge.events)}" '
                   f'data-from="{edge.src}" data-to="{edge.dst}" data-number="{n}">'
                   f'<title>{n}. {escape("; ".join(legend(edge)))}</title>'
                   f'<path d="{path}" fill="none" stroke="#333" stroke-width="1.3" {dash}marker-end="url(#arrow)"/>'
                   "</g>")
        numbers.append(f'<g class="edge-number"><circle cx="{mx:.0f}" cy="{my:.0f}" r="9" fill="#fff" '
                       f'stroke="#333"/>{_text(mx, my + 4, str(n), "edge-number-text")}</g>')
    for node in graph.nodes:
        if node.key == graph.hub:
            x, y, w = LEFT, hub_y, width - 2 * LEFT
        else:
            (x, y), w = places[node.key], W
        note = _text(x + w / 2, y + 40, str(node.note), "node-note") if node.note else ""
        out.append(f'<g class="node" data-state="{node.key}"><rect x="{x}" y="{y}" width="{w}" height="{H}" '
                   f'rx="8" fill="#fff" stroke="#198754" stroke-width="2"/>'
                   f'{_text(x + w / 2, y + (22 if node.note else 32), str(node.label), "node-label")}{note}</g>')
    out.extend(numbers)
    out.append("</svg>")
    return Markup("".join(out))
