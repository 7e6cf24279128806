"""Tags (标签) persons carry: manual ones given and taken by hand (a person, a list, a whole
segment at once), and rule tags a saved segment publishes to its members at each refresh.

    store.py    ``person_tags`` in the event store: holders, manual changes as diffs
    publish.py  rule tags: published by each segment refresh, and at once when created
    saved.py    tags across both stores (the metadata row and the event store's rows)
    profile.py  a person's tags and segments, for the profile

The tag rows themselves (name, colour, kind, segment) are ``userops.meta.tags``'s. Nothing is
imported here: ``userops.segments.refresh`` imports ``publish``, and ``saved`` imports it.
"""
