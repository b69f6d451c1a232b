"""FilesActor: owns the model and router files that serving ships through the object store.

`ray.put` makes the calling process the owner of an object, and an object dies with its owner. If
`bookgpt-serve` owned the files, they would be gone once it exited, although its actors stay for
the next `bookgpt-serve`: a book actor restarted on another node after that (its node died, and
its node-local cache with it) could not fetch its files and would stay dead. This detached actor
puts them into the object store itself, so it owns them, and holds a reference to each: they live
as long as the deployment does. One copy per distinct file (by sha256), reused by the next
`bookgpt-serve`, dropped once no served actor is built from it.
"""

from __future__ import annotations

import ray

FILES_NAME = "files"


@ray.remote(num_cpus=0, max_restarts=0)
class FilesActor:
    def __init__(self) -> None:
        self.refs: dict[str, list] = {}  # sha256 -> [ObjectRef]; in a list: kept, not fetched
        self.state: dict | None = None  # what the router serves now (see `publish`)

    def publish(self, state: dict) -> None:
        """What the router serves now (its files' bundle, each book's actor names): a router
        that Ray restarts was built with the state of its first start, and takes this up."""
        self.state = state

    def current(self) -> dict | None:
        return self.state

    def known(self, shas: list[str]) -> dict[str, list]:
        """The held references among `shas` (each in a list, so Ray passes it unfetched)."""
        return {sha: self.refs[sha] for sha in shas if sha in self.refs}

    def put(self, files: dict[str, bytes]) -> dict[str, list]:
        """Put these files (by sha256) into the object store, owned by this actor and held until
        `retain` drops them; returns their references."""
        for sha, data in files.items():
            if sha not in self.refs:
                self.refs[sha] = [ray.put(data)]
        return {sha: self.refs[sha] for sha in files}

    def retain(self, shas: list[str]) -> int:
        """Drop every file but these (the served ones): the object store frees the rest."""
        wanted = set(shas)
        self.refs = {sha: ref for sha, ref in self.refs.items() if sha in wanted}
        return len(self.refs)
