"""IdentityGraph in memory: new ids, links, merges (the lower person survives), changes buffer."""

from __future__ import annotations

from userops.identity.graph import IdentityGraph, LinkRecord, MergeRecord, link_key


def test_new_ids_get_new_persons_in_order() -> None:
    graph = IdentityGraph()
    assert graph.person_for("a") == 1
    assert graph.person_for("b") == 2
    assert graph.person_for("a") == 1  # known id: same person, nothing new
    changes = graph.take_changes()
    assert changes.new_persons == [1, 2]
    assert changes.created == {"a", "b"}
    assert changes.assigned == {"a": 1, "b": 2}
    assert changes.moved == set()
    assert changes.links == [] and changes.merges == []
    assert graph.members(1) == {"a"} and graph.members(2) == {"b"}


def test_person_ids_continue_after_loaded_state() -> None:
    graph = IdentityGraph({"x": 7}, next_person_id=8)
    assert graph.person_for("x") == 7
    assert graph.person_for("y") == 8
    assert graph.take_changes().new_persons == [8]


def test_link_two_unknown_ids_makes_one_person() -> None:
    graph = IdentityGraph()
    assert graph.link("anon", "user", "identify", "m1") is None
    assert graph.person_of == {"anon": 1, "user": 1}
    changes = graph.take_changes()
    assert changes.new_persons == [1]
    assert changes.created == {"anon", "user"}
    assert changes.moved == set()
    assert changes.links == [LinkRecord("anon", "user", "identify", "m1")]
    assert changes.merges == []


def test_link_known_to_unknown_joins_the_known_person() -> None:
    graph = IdentityGraph()
    graph.person_for("other")
    known = graph.person_for("anon")
    graph.take_changes()
    # unknown id first, known second: the unknown joins the known person either way
    assert graph.link("user", "anon", "alias", "m2") is None
    assert graph.person_of["user"] == known == 2
    changes = graph.take_changes()
    assert changes.new_persons == []
    assert changes.created == {"user"}
    assert changes.assigned == {"user": 2}
    assert changes.moved == set()
    # links are stored undirected: sorted pair
    assert changes.links == [LinkRecord("anon", "user", "alias", "m2")]


def test_merge_keeps_lower_person_and_moves_every_id() -> None:
    graph = IdentityGraph()
    graph.link("u1", "a1", "identify", "m1")  # person 1: a1, u1
    graph.person_for("a2")  # person 2
    graph.link("a2", "a3", "track", "m2")  # person 2: a2, a3
    graph.take_changes()
    # link from the higher person's id to the lower one's: still person 1 survives
    merge = graph.link("a3", "u1", "identify", "m3")
    assert merge == MergeRecord(
        link=LinkRecord("a3", "u1", "identify", "m3"),
        survivor_id=1,
        absorbed_id=2,
        absorbed_anchor="a3",
        moved_ids=("a2", "a3"),
    )
    assert graph.person_of == {"a1": 1, "u1": 1, "a2": 1, "a3": 1}
    assert graph.members(1) == {"a1", "u1", "a2", "a3"}
    assert graph.members(2) == frozenset()
    changes = graph.take_changes()
    assert changes.merges == [merge]
    assert changes.moved == {"a2", "a3"}
    assert changes.assigned == {"a2": 1, "a3": 1}
    assert changes.created == set()
    assert changes.new_persons == []


def test_merge_survivor_is_lower_id_whichever_side_links() -> None:
    graph = IdentityGraph({"p5": 5, "p3": 3, "q3": 3}, next_person_id=6)
    merge = graph.link("p5", "q3", "alias", "m")
    assert merge is not None
    assert (merge.survivor_id, merge.absorbed_id, merge.absorbed_anchor) == (3, 5, "p5")
    assert merge.moved_ids == ("p5",)
    assert set(graph.person_of.values()) == {3}


def test_repeated_and_reversed_links_are_noops() -> None:
    graph = IdentityGraph()
    graph.person_for("a")
    graph.person_for("b")
    first = graph.link("a", "b", "identify", "m1")
    assert first is not None
    graph.take_changes()
    assert graph.link("a", "b", "identify", "m2") is None
    assert graph.link("b", "a", "track", "m3") is None
    assert not graph.take_changes()


def test_link_within_one_person_is_recorded_without_merge() -> None:
    graph = IdentityGraph()
    graph.link("a", "u", "identify", "m1")
    graph.link("b", "u", "identify", "m2")
    graph.take_changes()
    assert graph.link("a", "b", "track", "m3") is None
    changes = graph.take_changes()
    assert changes.links == [LinkRecord("a", "b", "track", "m3")]
    assert changes.merges == [] and changes.moved == set() and changes.assigned == {}


def test_self_link_only_creates_the_id() -> None:
    graph = IdentityGraph()
    assert graph.link("u", "u", "alias", "m1") is None
    changes = graph.take_changes()
    assert changes.links == []
    assert changes.created == {"u"}
    assert graph.person_of == {"u": 1}


def test_known_links_loaded_are_not_recorded_again() -> None:
    graph = IdentityGraph({"a": 1, "b": 1}, known_links={link_key("b", "a")}, next_person_id=2)
    assert graph.link("b", "a", "identify", "m") is None
    assert not graph.take_changes()


def test_changes_in_order_across_a_chain_of_merges() -> None:
    graph = IdentityGraph()
    for name in ("a", "b", "c"):
        graph.person_for(name)  # persons 1, 2, 3
    m1 = graph.link("c", "b", "alias", "m1")  # 2 absorbs 3
    m2 = graph.link("b", "a", "alias", "m2")  # 1 absorbs 2 (with c)
    assert m1 is not None and m2 is not None
    assert (m1.survivor_id, m1.absorbed_id, m1.moved_ids) == (2, 3, ("c",))
    assert (m2.survivor_id, m2.absorbed_id, m2.moved_ids) == (1, 2, ("b", "c"))
    changes = graph.take_changes()
    assert changes.merges == [m1, m2]
    assert [(x.id_a, x.id_b) for x in changes.links] == [("b", "c"), ("a", "b")]
    # created in this window and moved too: both sets, final person in assigned
    assert changes.created == {"a", "b", "c"}
    assert changes.moved == {"b", "c"}
    assert changes.assigned == {"a": 1, "b": 1, "c": 1}
    assert graph.take_changes().merges == []  # taken: the buffer starts empty
